#!/usr/bin/env python3
"""Upload benchmark: reelhouse's tus endpoint against the official Node tus server and ``dd``.

One run measures, side by side and on the same disk:

* reelhouse with ``REELHOUSE_UPLOAD_FSYNC=false`` and with ``=true`` (two separate server starts,
  each with its own data dir and embedded PostgreSQL, ``--no-worker``), through ``/files/`` with
  an access token (HTTP Basic, passed to the shared driver via ``TUS_EXTRA_HEADERS``);
* ``@tus/server`` + ``@tus/file-store`` (``node_server.mjs`` from the shared kit; the packages are
  installed with ``npm install`` into ``.bench/tusnode`` if missing);
* ``dd bs=8M count=128`` with and without ``conv=fdatasync``.

Tests per server: one upload in 8 MiB PATCHes, the same upload as one PATCH, N concurrent uploads
in 8 MiB PATCHes. Plus a reelhouse-only memory test: M concurrent uploads (8 MiB PATCHes, fsync
off) with peak RSS (the kernel's high-water mark, and samples every 10 ms), on each of
``--memory-servers``: the lean upload node (``reelhouse-node``: ``serve --uploads-only``, the
process that serves uploads where they are heavy) and the all-in-one web process
(``reelhouse-nofsync``: ``serve --no-worker``). Every stored file is checked by sha256 against
its source. ``--servers`` also takes ``reelhouse-node`` (the upload node through the throughput
tests, compared with node-tus like reelhouse-nofsync).

The order of the servers rotates each round; the table shows medians over rounds. MB = 10^6 bytes.
RSS is the server process plus its children; reelhouse's embedded PostgreSQL is daemonized by
pg_ctl (not a child) and is excluded explicitly anyway (its RSS is shown separately for
information). The HTTP client and dd references come from the shared driver
``<shared>/bench/tus/bench.py``, imported from its path.

    .venv/bin/python bench/upload.py --quick --rounds 1        # a few minutes
    .venv/bin/python bench/upload.py --rounds 3 --json .bench/upload.json
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import importlib.util
import json
import os
import platform
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import psutil

REPO = Path(__file__).resolve().parent.parent
MiB = 1 << 20
GiB = 1 << 30
CHUNK = 8 * MiB
TOKEN_ID = "benchtoken0000000000"
TOKEN_SECRET = "benchsecret-not-for-production"

# Targets from the issue.
TARGET_NOFSYNC_VS_NODE = 1.3
TARGET_FSYNC_VS_DD = 0.9
TARGET_PEAK_RSS_MIB = 100.0

NODE_PACKAGES = ("@tus/server", "@tus/file-store")
SERVERS = ("reelhouse-nofsync", "reelhouse-fsync", "node-tus")
MEMORY_SERVERS = ("reelhouse-node", "reelhouse-nofsync")
# Also accepted by --servers (not in the default run): the upload node through the same tests.
OPTIONAL_SERVERS = ("reelhouse-node",)
TEST_LABELS = {
    "single-8m": "one upload, 8 MiB PATCHes",
    "single-whole": "one upload, one PATCH",
    "conc": "concurrent uploads, 8 MiB PATCHes",
    "memory": "memory test, concurrent uploads, 8 MiB PATCHes",
}


def load_driver(shared: Path) -> ModuleType:
    path = shared / "bench" / "tus" / "bench.py"
    if not path.is_file():
        sys.exit(f"shared driver not found: {path} (use --shared)")
    spec = importlib.util.spec_from_file_location("tus_bench_driver", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fmt_size(n: int) -> str:
    return f"{n // GiB} GiB" if n % GiB == 0 else f"{n // MiB} MiB"


# ------------------------------------------------------------------------------------------
# servers
# ------------------------------------------------------------------------------------------
class Server:
    """A started server: its process, tus URL, storage dir and extra request headers."""

    name: str
    proc: subprocess.Popen[bytes]
    url: str
    store: Path
    headers: str = ""
    log: Path

    def pg_pid(self) -> int | None:
        return None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return ""


class Reelhouse(Server):
    def __init__(
        self, name: str, fsync: bool, data_dir: Path, exe: str, log: Path, args: list[str]
    ) -> None:
        self.name, self.data_dir, self.log = name, data_dir, log
        port = free_port()
        env = dict(os.environ)
        env.update(
            REELHOUSE_DATA_DIR=str(data_dir),
            REELHOUSE_PORT=str(port),
            REELHOUSE_HOST="127.0.0.1",
            REELHOUSE_BOOTSTRAP_TOKEN=f"{TOKEN_ID}:{TOKEN_SECRET}",
            REELHOUSE_UPLOAD_FSYNC="true" if fsync else "false",
            REELHOUSE_LOG_LEVEL="warning",
        )
        env.pop("REELHOUSE_CONFIG", None)
        env.pop("REELHOUSE_DATABASE_URL", None)
        with open(log, "ab") as err:
            self.proc = subprocess.Popen(
                [exe, "serve", *args],
                env=env,
                stdout=err,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.url = f"http://127.0.0.1:{port}/files/"
        self.store = data_dir / "uploads"
        cred = base64.b64encode(f"{TOKEN_ID}:{TOKEN_SECRET}".encode()).decode()
        self.headers = f"Authorization: Basic {cred}"
        try:
            self._wait_ready(port)
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, port: int, timeout: float = 120.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited ({self.proc.returncode}):\n{self.log_tail()}"
                )
            url = f"http://127.0.0.1:{port}/readyz"
            with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as r:
                if r.status == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"{self.name}: /readyz not 200 after {timeout}s:\n{self.log_tail()}")

    def pg_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.data_dir / "pg" / "postmaster.pid").read_text().split()[0])
        return None

    def stop(self) -> None:
        pg = self.pg_pid()
        super().stop()
        # The server stops its PostgreSQL on exit; make sure it did (fast shutdown otherwise).
        if pg is not None:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and _alive(pg):
                time.sleep(0.2)
            if _alive(pg):
                with contextlib.suppress(OSError):
                    os.kill(pg, signal.SIGINT)


class NodeTus(Server):
    def __init__(self, driver: ModuleType, script: Path, node_dir: Path, store: Path, log: Path):
        self.name, self.store, self.log = "node-tus", store, log
        port = free_port()
        env = dict(os.environ, TUS_NODE_DIR=str(node_dir), PORT=str(port), STORE_DIR=str(store))
        with open(log, "ab") as err:
            self.proc = subprocess.Popen(
                ["node", str(script)], env=env, stdout=err, stderr=subprocess.STDOUT
            )
        self.url = f"http://127.0.0.1:{port}/files/"
        try:
            driver.wait_port(port, self.proc)
        except BaseException:
            self.stop()
            raise


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (exited, not yet reaped) counts as gone
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    return False


def ensure_node_packages(node_dir: Path) -> None:
    if (node_dir / "node_modules" / "@tus" / "file-store").is_dir() and (
        node_dir / "node_modules" / "@tus" / "server"
    ).is_dir():
        return
    if not shutil.which("npm"):
        sys.exit("npm not found: needed to install @tus/server for the Node reference")
    node_dir.mkdir(parents=True, exist_ok=True)
    print(f"installing @tus/server @tus/file-store into {node_dir} ...", flush=True)
    if not (node_dir / "package.json").exists():
        (node_dir / "package.json").write_text('{"name": "tusnode", "private": true}\n')
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--loglevel=error", *NODE_PACKAGES],
        cwd=node_dir,
        check=True,
    )


def node_versions(node_dir: Path) -> dict[str, str]:
    out = {}
    for pkg in ("server", "file-store"):
        with contextlib.suppress(OSError, ValueError):
            meta = json.loads(
                (node_dir / "node_modules" / "@tus" / pkg / "package.json").read_text()
            )
            out[f"@tus/{pkg}"] = meta["version"]
    return out


# ------------------------------------------------------------------------------------------
# measuring
# ------------------------------------------------------------------------------------------
PAGE = os.sysconf("SC_PAGE_SIZE")


class ProcSampler(threading.Thread):
    """Peak RSS and CPU of a server's process tree (PostgreSQL excluded), cheap to run beside it.

    The shared driver's ``Sampler`` walks every process on the machine (``psutil``'s
    ``children(recursive=True)``) every 10 ms, in the client's process: about 15% of one of the two
    cores plus GIL waits for the client thread between PATCHes, which slowed reelhouse's two-thread
    ingest (event loop + writer) more than the single-threaded Node server (a scratch A/B: 1 GiB in
    8 MiB PATCHes, 768 vs 692 MB/s with it, 911 vs 649 without). Here the process list is read once
    at the start and refreshed every second, each sample reads ``/proc/PID/statm`` of the known
    processes (microseconds), and the peak also comes from the kernel's own high-water mark: the
    ``VmHWM`` of each process after ``clear_refs`` reset it at the start (exact for one process,
    an upper bound for several), so no peak between two samples is missed.
    """

    def __init__(self, pid: int, interval: float = 0.01) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.root = psutil.Process(pid)
        self.peak = 0
        self._halt = threading.Event()
        self._pids = self._tree()
        self._hwm_reset = all(_reset_hwm(p) for p in self._pids)

    def _tree(self) -> list[int]:
        try:
            procs = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return []
        out = []
        for p in procs:
            with contextlib.suppress(psutil.Error):
                if not p.name().startswith("postgres"):
                    out.append(p.pid)
        return out

    def rss(self) -> int:
        total = 0
        for pid in self._pids:
            with contextlib.suppress(OSError, IndexError, ValueError):
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE
        return total

    def cpu(self) -> float:
        total = 0.0
        for pid in self._tree():
            with contextlib.suppress(psutil.Error):
                t = psutil.Process(pid).cpu_times()
                total += t.user + t.system
        return total

    def hwm(self) -> int:
        """Sum of the processes' peak RSS since the reset (0 where it could not be reset)."""
        if not self._hwm_reset:
            return 0
        return sum(proc_kib(Path(f"/proc/{pid}/status"), "VmHWM") * 1024 for pid in self._pids)

    def run(self) -> None:
        refreshed = time.monotonic()
        while not self._halt.wait(self.interval):
            self.peak = max(self.peak, self.rss())
            if time.monotonic() - refreshed > 1.0:
                pids = self._tree()
                for pid in set(pids) - set(self._pids):
                    self._hwm_reset = self._hwm_reset and _reset_hwm(pid)
                self._pids, refreshed = pids, time.monotonic()

    def stop(self) -> None:
        self._halt.set()
        self.join()
        self.peak = max(self.peak, self.rss(), self.hwm())


def proc_kib(path: Path, key: str) -> int:
    """The ``key:  N kB`` value of a /proc file such as ``meminfo`` or ``PID/status`` (0 if
    absent)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in path.read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
    return 0


def _reset_hwm(pid: int) -> bool:
    """Reset a process's peak-RSS mark (``VmHWM``) to its current RSS (Linux 4.0+)."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def minor_faults(pid: int) -> int:
    """Minor page faults of the server process so far (0 where /proc cannot tell)."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[7])
    return 0


def tree_rss_mib(driver: ModuleType, pid: int | None) -> float | None:
    if not pid:
        return None
    with contextlib.suppress(Exception):
        return round(driver.Sampler(pid).rss() / MiB, 1)
    return None


@contextlib.contextmanager
def extra_headers(value: str) -> Iterator[None]:
    old = os.environ.get("TUS_EXTRA_HEADERS")
    os.environ["TUS_EXTRA_HEADERS"] = value
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("TUS_EXTRA_HEADERS", None)
        else:
            os.environ["TUS_EXTRA_HEADERS"] = old


def clear_store(store: Path) -> None:
    if store.is_dir():
        for p in store.iterdir():
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
    subprocess.run(["sync"], check=False)


def measure(
    driver: ModuleType,
    server: Server,
    test: str,
    n: int,
    size: int,
    chunk: int,
    src: Path,
    src_sha: str,
) -> dict[str, Any]:
    """n uploads of `size` bytes at once, in `chunk`-byte PATCHes; sampled, then verified."""
    sampler = ProcSampler(server.proc.pid)
    idle = sampler.rss()
    cpu0 = sampler.cpu()
    faults0 = minor_faults(server.proc.pid)
    results: list[tuple[str, float, bool, str]] = []
    errors: list[str] = []
    barrier = threading.Barrier(n)
    lock = threading.Lock()

    def worker(i: int) -> None:
        try:
            barrier.wait()
            r = driver.tus_upload(server.url, str(src), 0, size, chunk, f"{test}-{i}.bin")
            with lock:
                results.append(r)
        except Exception as exc:  # noqa: BLE001 - reported in the results
            with lock:
                errors.append(repr(exc)[:300])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    with extra_headers(server.headers):
        sampler.start()
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        sampler.stop()
    cpu = sampler.cpu() - cpu0
    faults = minor_faults(server.proc.pid) - faults0
    if server.proc.poll() is not None:
        errors.insert(0, f"server exited during the test (returncode {server.proc.returncode})")
    ok = not errors and len(results) == n
    # Verify (and delete as we go: the memory test stores n GiB).
    sha_ok: bool | None = None
    if ok:
        sha_ok = True
        for upload_id, _secs, _head, _cc in results:
            path = server.store / upload_id
            if driver.sha256_file(str(path)) != src_sha:
                sha_ok = False
            path.unlink(missing_ok=True)
    clear_store(server.store)
    return {
        "server": server.name,
        "test": test,
        "uploads": n,
        "bytes": n * size,
        "chunk": chunk,
        "wall_s": round(wall, 3),
        "MBps": round(n * size / wall / 1e6, 1) if ok else None,
        "peak_rss_MiB": round(sampler.peak / MiB, 1),
        "idle_rss_MiB": round(idle / MiB, 1),
        "server_cpu_s": round(cpu, 2),
        "server_minor_faults": faults,
        "pg_rss_MiB": tree_rss_mib(driver, server.pg_pid()),
        "sha256_ok": sha_ok,
        "head_ok": all(r[2] for r in results) if ok else False,
        "errors": errors[:3],
    }


# ------------------------------------------------------------------------------------------
# orchestration
# ------------------------------------------------------------------------------------------
class Bench:
    def __init__(self, a: argparse.Namespace, driver: ModuleType) -> None:
        self.a, self.driver = a, driver
        self.work = Path(a.work).resolve()
        self.raw: list[dict[str, Any]] = []
        self.running: list[Server] = []
        self.q = a.quick
        self.single = 256 * MiB if a.quick else GiB
        self.conc_n, self.conc_size = (4, 64 * MiB) if a.quick else (8, 256 * MiB)
        self.mem_n, self.mem_size = (4, 256 * MiB) if a.quick else (16, GiB)
        self.src_single = self.work / "src-single.bin"
        self.src_conc = self.work / "src-conc.bin"
        self.sha: dict[Path, str] = {}

    # -- sources -------------------------------------------------------------------------
    def prepare(self) -> None:
        self.work.mkdir(parents=True, exist_ok=True)
        print("preparing random source files ...", flush=True)
        for path, size in ((self.src_single, self.single), (self.src_conc, self.conc_size)):
            self.driver.make_source(str(path), size)
            self.sha[path] = self.driver.sha256_file(str(path))
        # The first server measured must not pay for the sources' write-back.
        subprocess.run(["sync"], check=False)
        if self.mem_size not in (self.single, self.conc_size):
            raise AssertionError("memory-test size must match a source")

    def src_for(self, size: int) -> Path:
        return self.src_single if size == self.single else self.src_conc

    # -- servers -------------------------------------------------------------------------
    def start(self, name: str) -> Server:
        log = self.work / f"{name}.log"
        server: Server
        if name.startswith("reelhouse"):
            node = name == "reelhouse-node"
            fsync = name == "reelhouse-fsync" or (node and self.a.memory_fsync)
            data = self.work / f"data-{name.removeprefix('reelhouse-')}"
            args = ["--uploads-only"] if node else ["--no-worker"]
            # The tree may be mid-edit on a shared machine: retry a failed start a few times.
            for attempt in range(1, 5):
                try:
                    server = Reelhouse(name, fsync, data, self.a.reelhouse, log, args)
                    break
                except RuntimeError as exc:
                    if attempt == 4:
                        raise
                    print(
                        f"  {name} did not start ({str(exc)[-200:]!r}); retry in 30 s", flush=True
                    )
                    time.sleep(30)
        elif name == "node-tus":
            store = self.work / "store-node"
            store.mkdir(parents=True, exist_ok=True)
            clear_store(store)
            script = Path(self.a.shared) / "bench" / "tus" / "node_server.mjs"
            server = NodeTus(self.driver, script, Path(self.a.node_dir), store, log)
        else:
            raise ValueError(name)
        self.running.append(server)
        # warm-up upload (not measured): first requests open DB pools, JIT, etc.
        with extra_headers(server.headers):
            self.driver.tus_upload(server.url, str(self.src_conc), 0, 8 * MiB, MiB, "warmup.bin")
        clear_store(server.store)
        time.sleep(0.5)
        return server

    def stop(self, server: Server) -> None:
        server.stop()
        if server in self.running:
            self.running.remove(server)

    def stop_all(self) -> None:
        for server in list(self.running):
            with contextlib.suppress(Exception):
                self.stop(server)

    def record(self, rnd: int, r: dict[str, Any]) -> None:
        r["round"] = rnd
        self.raw.append(r)
        keys = ("server", "test", "MBps", "peak_rss_MiB", "server_cpu_s", "server_minor_faults")
        short = {k: r[k] for k in keys}
        print(f"  {json.dumps({**short, 'sha256_ok': r.get('sha256_ok')})}", flush=True)
        if r.get("errors"):
            print(f"  errors: {r['errors']}", flush=True)

    # -- one item of a round ---------------------------------------------------------------
    def run_server(self, rnd: int, name: str) -> None:
        server = self.start(name)
        try:
            plan = [
                ("single-8m", 1, self.single, CHUNK),
                ("single-whole", 1, self.single, self.single),
                ("conc", self.conc_n, self.conc_size, CHUNK),
            ]
            for test, n, size, chunk in plan:
                server = self.measure_retry(rnd, server, test, n, size, chunk)
        finally:
            self.stop(server)

    def measure_retry(
        self, rnd: int, server: Server, test: str, n: int, size: int, chunk: int
    ) -> Server:
        """Measure; if the server died meanwhile (on a shared machine something may kill it),
        keep the attempt as discarded, restart the server and measure once more."""
        src = self.src_for(size)
        r = measure(self.driver, server, test, n, size, chunk, src, self.sha[src])
        if server.proc.poll() is not None:
            r["discarded"] = True
            self.record(rnd, r)
            print(f"  {server.name} died (rc {server.proc.returncode}); restarting", flush=True)
            self.stop(server)
            server = self.start(server.name)
            r = measure(self.driver, server, test, n, size, chunk, src, self.sha[src])
            r["retried"] = True
        self.record(rnd, r)
        return server

    def run_memory(self, rnd: int) -> None:
        for name in self.memory_servers():
            server = self.start(name)
            try:
                size = self.mem_size
                server = self.measure_retry(rnd, server, "memory", self.mem_n, size, CHUNK)
            finally:
                self.stop(server)

    def memory_servers(self) -> list[str]:
        names = [s for s in self.a.memory_servers.split(",") if s]
        if self.a.memory_fsync:
            names = ["reelhouse-fsync" if n == "reelhouse-nofsync" else n for n in names]
        return names

    def run_dd(self, rnd: int) -> None:
        store = self.work / "store-dd"
        store.mkdir(parents=True, exist_ok=True)
        d = self.driver.dd_ref(str(store))
        print(f"  dd: {d}", flush=True)
        self.raw.append({"round": rnd, "server": "dd", **d})

    def run(self) -> None:
        items = [s for s in self.a.servers.split(",") if s] + ["dd"]
        if not self.a.no_memory:
            items.append("memory")
        for rnd in range(1, self.a.rounds + 1):
            k = (rnd - 1) % len(items)
            order = items[k:] + items[:k]
            print(f"round {rnd}/{self.a.rounds}: {', '.join(order)}", flush=True)
            for item in order:
                if item == "dd":
                    self.run_dd(rnd)
                elif item == "memory":
                    self.run_memory(rnd)
                else:
                    self.run_server(rnd, item)

    def cleanup(self) -> None:
        self.stop_all()
        if self.a.keep:
            return
        for p in self.work.glob("*"):
            if p.suffix == ".log":
                continue
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)


# ------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------
def med(xs: list[float]) -> float | None:
    return round(statistics.median(xs), 1) if xs else None


def _vals(raw: list[dict[str, Any]], server: str, test: str, key: str) -> list[float]:
    return [
        r[key]
        for r in raw
        if r["server"] == server and r.get("test") == test and r.get(key) is not None
    ]


def _dd(raw: list[dict[str, Any]], key: str) -> list[float]:
    return [r[key] for r in raw if r["server"] == "dd" and key in r]


def _per_round_ratio(
    raw: list[dict[str, Any]], num: tuple[str, str], den: Callable[[int], float | None]
) -> list[float]:
    out = []
    for r in raw:
        if (r["server"], r.get("test")) == num and r.get("MBps"):
            d = den(r["round"])
            if d:
                out.append(round(r["MBps"] / d, 2))
    return out


def summarize(raw: list[dict[str, Any]], meta: dict[str, Any]) -> dict[str, Any]:
    def by_round(server: str, test: str | None, key: str) -> Callable[[int], float | None]:
        def f(rnd: int) -> float | None:
            for r in raw:
                if r["round"] == rnd and r["server"] == server and r.get("test") == test:
                    return r.get(key)
            return None

        return f

    def ratio(num: tuple[str, str], den_vals: list[float], den_round: Callable[..., Any]) -> Any:
        n = med(_vals(raw, num[0], num[1], "MBps"))
        d = med(den_vals)
        return {
            "value": round(n / d, 2) if n and d else None,
            "per_round": _per_round_ratio(raw, num, den_round),
        }

    dd_sync = _dd(raw, "dd-fdatasync")
    r1 = ratio(
        ("reelhouse-nofsync", "single-8m"),
        _vals(raw, "node-tus", "single-8m", "MBps"),
        by_round("node-tus", "single-8m", "MBps"),
    )
    r_node = ratio(
        ("reelhouse-node", "single-8m"),
        _vals(raw, "node-tus", "single-8m", "MBps"),
        by_round("node-tus", "single-8m", "MBps"),
    )
    r2 = ratio(("reelhouse-fsync", "single-whole"), dd_sync, by_round("dd", None, "dd-fdatasync"))
    r3 = ratio(("reelhouse-fsync", "single-8m"), dd_sync, by_round("dd", None, "dd-fdatasync"))
    targets = [
        {
            "name": "reelhouse (no fsync, 8 MiB PATCHes) / node-tus (8 MiB PATCHes)",
            "target": f">= {TARGET_NOFSYNC_VS_NODE}",
            **r1,
            "pass": None if r1["value"] is None else r1["value"] >= TARGET_NOFSYNC_VS_NODE,
        },
        {
            "name": "reelhouse (fsync, one PATCH) / dd conv=fdatasync",
            "target": f">= {TARGET_FSYNC_VS_DD}",
            **r2,
            "pass": None if r2["value"] is None else r2["value"] >= TARGET_FSYNC_VS_DD,
        },
        {
            "name": "reelhouse (fsync, 8 MiB PATCHes) / dd conv=fdatasync",
            "target": f">= {TARGET_FSYNC_VS_DD}",
            **r3,
            "pass": None if r3["value"] is None else r3["value"] >= TARGET_FSYNC_VS_DD,
        },
    ]
    r_sync = ratio(
        ("reelhouse-fsync", "single-8m"),
        _vals(raw, "reelhouse-nofsync", "single-8m", "MBps"),
        by_round("reelhouse-nofsync", "single-8m", "MBps"),
    )
    if r_sync["value"] is not None:
        # For information, not a target: what the flushes cost the upload itself, where the disk
        # takes fdatasync faster than one HTTP stream arrives and dd is no bound to compare with.
        targets.append(
            {
                "name": "reelhouse (fsync, 8 MiB PATCHes) / reelhouse (no fsync, 8 MiB PATCHes)",
                "target": "(information)",
                **r_sync,
                "pass": None,
            }
        )
    if r_node["value"] is not None:
        targets.append(
            {
                "name": "reelhouse-node (no fsync, 8 MiB PATCHes) / node-tus (8 MiB PATCHes)",
                "target": f">= {TARGET_NOFSYNC_VS_NODE}",
                **r_node,
                "pass": r_node["value"] >= TARGET_NOFSYNC_VS_NODE,
            }
        )
    for server in dict.fromkeys(r["server"] for r in raw if r.get("test") == "memory"):
        runs = [r for r in raw if r.get("test") == "memory" and r["server"] == server]
        mem = [r["peak_rss_MiB"] for r in runs if r.get("MBps")]
        if not mem:
            continue
        targets.append(
            {
                "name": f"{server} peak RSS, memory test ({meta.get('memory_test', '')}), MiB",
                "target": f"<= {TARGET_PEAK_RSS_MIB:g}",
                "value": max(mem),
                "per_round": mem,
                "pass": max(mem) <= TARGET_PEAK_RSS_MIB and all(r.get("sha256_ok") for r in runs),
            }
        )
    return {"targets": targets}


def render(raw: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    discarded = [r for r in raw if r.get("discarded")]
    raw = [r for r in raw if not r.get("discarded")]
    lines = [
        "Medians over rounds; per-round values in brackets. MB = 10^6 bytes. RSS = server process"
        " + children (peak: the kernel's high-water mark and samples every 10 ms); reelhouse"
        " excludes its embedded PostgreSQL (daemonized by pg_ctl, not a child; its RSS after each"
        " test is the last column).",
        f"Free page reporting: {meta.get('page_reporting', 'not recorded')}.",
        "",
        "| server | test | MB/s | peak RSS MiB | idle RSS MiB | server CPU s | sha256 ok |"
        " PostgreSQL RSS MiB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    keys: list[tuple[str, str]] = []
    for r in raw:
        if r["server"] != "dd" and (r["server"], r["test"]) not in keys:
            keys.append((r["server"], r["test"]))
    keys.sort(key=lambda k: (list(TEST_LABELS).index(k[1]), k[0]))
    for server, test in keys:
        rs = [r for r in raw if (r["server"], r.get("test")) == (server, test)]
        mbps = _vals(raw, server, test, "MBps")
        first = rs[0]
        each = fmt_size(first["bytes"] // first["uploads"])
        what = f"{TEST_LABELS[test]}: {first['uploads']} x {each}"
        fails = sum(1 for r in rs if r["errors"])
        sha = all(r["sha256_ok"] for r in rs)
        pg = med(_vals(raw, server, test, "pg_rss_MiB"))
        lines.append(
            f"| {server} | {what} | {med(mbps)} [{', '.join(map(str, mbps))}] "
            f"| {med(_vals(raw, server, test, 'peak_rss_MiB'))} "
            f"(max {max(_vals(raw, server, test, 'peak_rss_MiB'))}) "
            f"| {med(_vals(raw, server, test, 'idle_rss_MiB'))} "
            f"| {med(_vals(raw, server, test, 'server_cpu_s'))} "
            f"| {'yes' if sha else 'NO'}{f' ({fails} failed)' if fails else ''} "
            f"| {pg if pg is not None else '-'} |"
        )
    for key, what in (
        ("dd-fdatasync", "dd bs=8M count=128 conv=fdatasync (1 GiB)"),
        ("dd-pagecache", "dd bs=8M count=128, no fdatasync (1 GiB)"),
    ):
        xs = _dd(raw, key)
        if xs:
            lines.append(f"| {key} | {what} | {med(xs)} [{', '.join(map(str, xs))}] | | | | | |")
    s = summarize(raw, meta)
    lines += ["", "| target | value | per round | pass |", "|---|---|---|---|"]
    for t in s["targets"]:
        lines.append(
            f"| {t['name']} {t['target']} | {t['value']} | {t['per_round']} "
            f"| {'n/a' if t['pass'] is None else 'PASS' if t['pass'] else 'FAIL'} |"
        )
    for r in discarded:
        lines.append(
            f"\nDiscarded (server died, test repeated on a fresh start): round {r['round']}, "
            f"{r['server']} {r['test']}: {r['errors'][:1]}"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------
PAGE_REPORTING_ORDER = Path("/sys/module/page_reporting/parameters/page_reporting_order")
# Above the buddy allocator's largest order (10 on x86-64 and arm64): no free block qualifies.
NO_REPORTING_ORDER = "11"


@contextlib.contextmanager
def guest_memory_held(enabled: bool, meta: dict[str, Any]) -> Iterator[None]:
    """Keep this VM's free memory backed by the host for the run (free page reporting off).

    A VM whose balloon device reports free pages (``virtio_balloon`` with free page reporting, as
    on the benchmark machine) hands memory freed for about two seconds back to the host; the next
    process to use those pages waits for the host to fault them in again. On the benchmark machine
    writing 1 GiB into the page cache took 0.18 s of CPU right after a 1 GiB file was deleted and
    2.5 s ten seconds later. Every upload here allocates 1 GiB or more of page cache, so without
    this a server's result depended on how long ago the previous test freed its files, not on the
    server. ``page_reporting_order`` above the largest order stops reporting (restored on exit);
    then touching most of the free memory once backs it for the rest of the run.
    """
    if not enabled or not PAGE_REPORTING_ORDER.exists():
        meta["page_reporting"] = "none on this machine" if enabled else "not held"
        yield
        return
    old = PAGE_REPORTING_ORDER.read_text().strip()
    try:
        PAGE_REPORTING_ORDER.write_text(NO_REPORTING_ORDER)
    except OSError as exc:
        print(f"free page reporting stays on ({exc}); results depend on timing", flush=True)
        meta["page_reporting"] = f"on (could not change: {exc})"
        yield
        return
    try:
        touched = touch_free_memory()
        meta["page_reporting"] = (
            f"held off for the run (page_reporting_order {old} -> {NO_REPORTING_ORDER}); "
            f"{fmt_size(touched)} of free memory touched first"
        )
        print(f"free page reporting off; {fmt_size(touched)} touched", flush=True)
        yield
    finally:
        PAGE_REPORTING_ORDER.write_text(old)


def touch_free_memory(keep_free: int = 3 * GiB, block: int = 256 * MiB) -> int:
    """Fill all but ``keep_free`` of the available memory once, then free it."""
    available = proc_kib(Path("/proc/meminfo"), "MemAvailable") * 1024
    blocks: list[bytearray] = []
    for _ in range(max(0, available - keep_free) // block):
        blocks.append(bytearray(b"\x01") * block)
    touched = len(blocks) * block
    blocks.clear()
    return touched


def machine_info(a: argparse.Namespace) -> dict[str, Any]:
    def cmd(*args: str) -> str:
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            return subprocess.run(args, capture_output=True, text=True, check=True).stdout.strip()
        return "?"

    work = Path(a.work).resolve()
    du = shutil.disk_usage(work)
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return {
        "nproc": os.cpu_count(),
        "memory_GiB": round(mem / GiB, 1),
        "disk": f"{cmd('df', '--output=source', str(work)).splitlines()[-1]}"
        f" ({du.total / 1e9:.0f} GB, {du.free / 1e9:.0f} GB free)",
        "python": platform.python_version(),
        "node": cmd("node", "--version"),
        **node_versions(Path(a.node_dir)),
        "kernel": platform.release(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--shared", default=str(REPO.parent / "shared"), help="the shared kit root")
    ap.add_argument("--work", default=str(REPO / ".bench" / "upload"), help="scratch dir")
    ap.add_argument("--node-dir", default=str(REPO / ".bench" / "tusnode"))
    ap.add_argument("--reelhouse", default=str(Path(sys.executable).parent / "reelhouse"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="256 MiB, 4x64 MiB, memory 4x256 MiB")
    ap.add_argument("--servers", default=",".join(SERVERS))
    ap.add_argument("--no-memory", action="store_true", help="skip the memory test")
    ap.add_argument("--memory-fsync", action="store_true", help="memory test with fsync on")
    ap.add_argument(
        "--memory-servers",
        default=",".join(MEMORY_SERVERS),
        help="which reelhouse processes take the memory test (each its own start)",
    )
    ap.add_argument("--json", default=None, metavar="OUT", help="write raw results here")
    ap.add_argument("--keep", action="store_true", help="keep the work dir (sources, data)")
    ap.add_argument("--report", default=None, metavar="JSON", help="only print a saved table")
    ap.add_argument(
        "--no-hold-memory",
        action="store_true",
        help="leave the VM's free page reporting on (see guest_memory_held)",
    )
    a = ap.parse_args()

    if a.report:
        saved = json.loads(Path(a.report).read_text())
        print(render(saved["raw"], saved["meta"]))
        return

    a.shared = str(Path(a.shared).resolve())
    unknown = {s for s in a.servers.split(",") if s} - {*SERVERS, *OPTIONAL_SERVERS}
    unknown |= {s for s in a.memory_servers.split(",") if s} - set(MEMORY_SERVERS)
    if unknown:
        sys.exit(f"unknown servers: {', '.join(sorted(unknown))}")
    driver = load_driver(Path(a.shared))
    if "node-tus" in a.servers:
        ensure_node_packages(Path(a.node_dir))
    bench = Bench(a, driver)

    def on_term(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    Path(a.work).mkdir(parents=True, exist_ok=True)
    meta = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine_info(a),
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "rounds": a.rounds,
        "sizes": {
            "single": bench.single,
            "conc": [bench.conc_n, bench.conc_size],
            "memory": [bench.mem_n, bench.mem_size],
        },
        "memory_test": f"{bench.mem_n} x {fmt_size(bench.mem_size)}, fsync "
        f"{'on' if a.memory_fsync else 'off'}",
    }
    try:
        with guest_memory_held(not a.no_hold_memory, meta):
            print(json.dumps(meta), flush=True)
            bench.prepare()
            bench.run()
    finally:
        bench.cleanup()
        if a.json:
            Path(a.json).parent.mkdir(parents=True, exist_ok=True)
            Path(a.json).write_text(json.dumps({"meta": meta, "raw": bench.raw}, indent=1))
    print()
    print(render(bench.raw, meta))


if __name__ == "__main__":
    main()
