#!/usr/bin/env python3
"""Delivery benchmark: reelhouse's ``/stream/`` and ``/image/`` against nginx on the same files.

One run, side by side:

1. **Segments.** Throughput (req/s, MB/s, latency) of the stored init and media segments of every
   rendition, rotated round-robin, from reelhouse (public paths ``/stream/{pid}/v{n}/...`` and
   signed grant paths ``/stream/{pid}/t/{grant}/v{n}/...`` taken from the signed multivariant
   playlist) and from nginx serving the *same stored files* (``root`` = the objects dir,
   ``sendfile on``, ``worker_processes 1``, another loopback port, the same relative paths).
   Two more reelhouse processes on the same data dir add two rows: one with the in-memory hot
   object cache off (``REELHOUSE_DELIVERY_MEMORY_CACHE_MB=0``: every segment read from disk),
   and one behind an nginx front with ``REELHOUSE_ACCEL_REDIRECT_PREFIX`` (reelhouse checks the
   grant and sets the headers, nginx sends the file: the production layout of docs/playback.md).
2. **Playlists.** Multivariant playlist (public, and signed with ``?token=JWT``: one RSA verify
   per request; the URLs rotate over ``--tokens`` distinct JWTs) and a media playlist (public,
   and signed through its grant path): req/s and p50/p95/p99 latency at ``--conns`` (100)
   concurrent connections, with ``Accept-Encoding: gzip`` as a browser sends.
3. **Thumbnails.** ``/image/{pid}/thumbnail.jpg?width=W&time=T``: the first request (cold,
   FFmpeg runs) and the second identical one (cached object), for a few widths; median over widths.

Load comes from ``wrk`` (``apt-get install -y wrk``) with a Lua script that rotates the paths
and prints its summary as JSON (latency percentiles are wrk's, per request, no coordinated-omission
correction). Server CPU seconds per test come from psutil (reelhouse: its process; nginx: master
and workers). The source clip is made with the project's FFmpeg, uploaded through the Mux-compatible
API to ``reelhouse serve`` (with its worker) and transcoded; the server is then restarted with
``--no-worker`` on the same data dir so no background job competes with the measurements.

Each round runs every test, with the order of the targets rotated per round; tables show medians
over rounds (ratios per round too). MB = 10^6 bytes.

    .venv/bin/python bench/delivery.py --quick                 # ~3 minutes
    .venv/bin/python bench/delivery.py --rounds 3 --json .bench/delivery.json
    .venv/bin/python bench/delivery.py --report .bench/delivery.json
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import jwt
import psutil

REPO = Path(__file__).resolve().parent.parent
TOKEN_ID = "benchtoken0000000000"
TOKEN_SECRET = "benchsecret-not-for-production"

# Targets from the issue.
TARGET_SEGMENTS_VS_NGINX = 0.5
TARGET_SIGNED_MASTER_P99_MS = 10.0

WRK_LUA = r"""
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do
  if #line > 0 then paths[#paths + 1] = line end
end
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("start", counter * 7919)
end
local i = 0
function init(args)
  i = (start or 0) % #paths
  if os.getenv("BENCH_GZIP") == "1" then wrk.headers["Accept-Encoding"] = "gzip" end
end
function request()
  i = i + 1
  if i > #paths then i = 1 end
  return wrk.format("GET", paths[i])
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"bytes":%d,"duration_us":%d,"err_connect":%d,"err_read":%d,' ..
    '"err_write":%d,"err_status":%d,"err_timeout":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,' ..
    '"mean_us":%.1f,"max_us":%d}\n',
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.mean, latency.max))
end
"""

# test name -> (label, target, uses gzip)
TESTS: dict[str, tuple[str, str, bool]] = {
    "seg-nginx": ("segments, nginx (sendfile)", "nginx", False),
    "seg-public": ("segments, reelhouse public", "reelhouse", False),
    "seg-signed": ("segments, reelhouse signed (grant paths)", "reelhouse", False),
    "seg-cold": ("segments, reelhouse public, memory cache off", "nocache", False),
    "seg-accel": ("segments, reelhouse signed behind nginx (X-Accel-Redirect)", "front", False),
    "master-public": ("multivariant playlist, public", "reelhouse", True),
    "master-signed": ("multivariant playlist, signed (?token=JWT)", "reelhouse", True),
    "media-public": ("media playlist, public", "reelhouse", True),
    "media-signed": ("media playlist, signed (grant path)", "reelhouse", True),
}
# open-loop tests: name -> the wrk test whose paths they request
OPEN_TESTS = {"master-public-open": "master-public", "master-signed-open": "master-signed"}
SEGMENT_TESTS = ("seg-nginx", "seg-public", "seg-signed", "seg-cold", "seg-accel")
PLAYLIST_TESTS = ("master-public", "master-signed", "media-public", "media-signed")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# ------------------------------------------------------------------------------------------
# servers
# ------------------------------------------------------------------------------------------
class Reelhouse:
    def __init__(
        self,
        data_dir: Path,
        log_path: Path,
        *,
        worker: bool,
        command: list[str] | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.data_dir, self.log = data_dir, log_path
        self.port = free_port()
        env = dict(os.environ)
        for k in [k for k in env if k.startswith("REELHOUSE_")]:
            del env[k]
        env.update(
            REELHOUSE_DATA_DIR=str(data_dir),
            REELHOUSE_PORT=str(self.port),
            REELHOUSE_HOST="127.0.0.1",
            REELHOUSE_BOOTSTRAP_TOKEN=f"{TOKEN_ID}:{TOKEN_SECRET}",
            REELHOUSE_LOG_LEVEL="warning",
        )
        env.update(extra_env or {})
        argv = [*(command or [str(REPO / ".venv" / "bin" / "reelhouse")]), "serve"]
        if not worker:
            argv.append("--no-worker")
        with open(log_path, "ab") as err:
            self.proc = subprocess.Popen(
                argv, env=env, stdout=err, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.base = f"http://127.0.0.1:{self.port}"
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"reelhouse exited ({self.proc.returncode}):\n{self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base + "/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.3)
        raise RuntimeError(f"reelhouse: /readyz not 200 after {timeout}s:\n{self.tail()}")

    def tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def cpu(self) -> float:
        return _tree_cpu(self.proc.pid, children=False)

    def pg_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.data_dir / "pg" / "postmaster.pid").read_text().split()[0])
        return None

    def stop(self) -> None:
        pg = self.pg_pid()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if pg is not None:  # the server stops its PostgreSQL; make sure it did
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and psutil.pid_exists(pg):
                time.sleep(0.2)
            if psutil.pid_exists(pg):
                with contextlib.suppress(OSError):
                    os.kill(pg, signal.SIGINT)


class Nginx:
    """nginx on the objects directory; with ``upstream``, a front for a reelhouse started
    with ``REELHOUSE_ACCEL_REDIRECT_PREFIX=/_objects/`` (the deployment docs/playback.md
    describes): reelhouse decides, nginx sends the file."""

    def __init__(self, root: Path, work: Path, workers: int, upstream: int | None = None) -> None:
        self.port = free_port()
        self.work = work
        for d in ("tmp", "logs"):
            (work / d).mkdir(parents=True, exist_ok=True)
        user = "user root;\n" if os.geteuid() == 0 else ""
        tmp = work / "tmp"
        conf = work / "nginx.conf"
        server = f"""    server {{
        listen 127.0.0.1:{self.port};
        root {root};
    }}"""
        if upstream is not None:
            server = f"""    upstream reelhouse {{ server 127.0.0.1:{upstream}; keepalive 128; }}
    server {{
        listen 127.0.0.1:{self.port};
        location /_objects/ {{
            internal;
            alias {root}/;
            add_header Access-Control-Allow-Origin * always;
        }}
        location / {{
            proxy_pass http://reelhouse;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_request_buffering off;
        }}
    }}"""
        conf.write_text(
            f"""{user}worker_processes {workers};
daemon off;
pid {work}/nginx.pid;
error_log {work}/logs/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    types {{ video/mp4 mp4; video/iso.segment m4s; audio/mp4 m4a;
             application/vnd.apple.mpegurl m3u8; }}
{server}
}}
"""
        )
        self.log = work / "logs" / "stderr.log"
        with open(self.log, "ab") as err:
            self.proc = subprocess.Popen(
                [shutil.which("nginx") or "/usr/sbin/nginx", "-c", str(conf), "-p", str(work)],
                stdout=err,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {self.log.read_text(errors='replace')}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("nginx did not start")

    def cpu(self) -> float:
        return _tree_cpu(self.proc.pid, children=True)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _tree_cpu(pid: int, *, children: bool) -> float:
    total = 0.0
    try:
        p = psutil.Process(pid)
        procs = [p, *p.children(recursive=True)] if children else [p]
        for q in procs:
            with contextlib.suppress(psutil.Error):
                t = q.cpu_times()
                total += t.user + t.system
    except psutil.Error:
        pass
    return total


# ------------------------------------------------------------------------------------------
# fixture: source clip, upload, signed playback id, paths
# ------------------------------------------------------------------------------------------
def make_source(out: Path, duration: int) -> None:
    import imageio_ffmpeg

    ff = imageio_ffmpeg.get_ffmpeg_exe()
    argv = [
        ff, "-y", "-hide_banner", "-loglevel", "error",
        "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=30:duration={duration}",
        "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={duration}",
        "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "60",
        "-b:v", "3M", "-c:a", "aac", "-b:a", "128k", "-shortest", str(out),
    ]  # fmt: skip
    subprocess.run(argv, check=True)


def api(base: str) -> httpx.Client:
    return httpx.Client(base_url=base, auth=(TOKEN_ID, TOKEN_SECRET), timeout=60)


def upload_asset(rh: Reelhouse, source: Path, timeout: float = 1200.0) -> str:
    with api(rh.base) as c:
        r = c.post(
            "/video/v1/uploads",
            json={"cors_origin": "*", "new_asset_settings": {"playback_policy": ["public"]}},
        )
        r.raise_for_status()
        up = r.json()["data"]
        with open(source, "rb") as f:
            put = httpx.put(up["url"], content=f.read(), timeout=300)
        put.raise_for_status()
        deadline = time.monotonic() + timeout
        asset_id = None
        while time.monotonic() < deadline:
            if asset_id is None:
                asset_id = c.get(f"/video/v1/uploads/{up['id']}").json()["data"].get("asset_id")
            if asset_id:
                asset = c.get(f"/video/v1/assets/{asset_id}").json()["data"]
                if asset["status"] == "ready":
                    return str(asset_id)
                if asset["status"] == "errored":
                    raise RuntimeError(f"asset errored: {asset}\n{rh.tail()}")
            time.sleep(1)
    raise RuntimeError(f"asset not ready after {timeout}s\n{rh.tail()}")


def asset_info(rh: Reelhouse, asset_id: str) -> dict[str, Any]:
    with api(rh.base) as c:
        asset = c.get(f"/video/v1/assets/{asset_id}").json()["data"]
        public = next(p["id"] for p in asset["playback_ids"] if p["policy"] == "public")
        r = c.post(f"/video/v1/assets/{asset_id}/playback-ids", json={"policy": "signed"})
        r.raise_for_status()
        signed = r.json()["data"]["id"]
        r = c.post("/system/v1/signing-keys", headers={"Content-Type": "application/json"})
        r.raise_for_status()
        key = r.json()["data"]
    return {
        "asset_id": asset_id,
        "public": public,
        "signed": signed,
        "key_id": key["id"],
        "pem": base64.b64decode(key["private_key"]).decode(),
        "duration": asset.get("duration"),
        "tracks": asset.get("tracks"),
    }


_KEYS: dict[str, Any] = {}


def sign(info: dict[str, Any], n: int) -> str:
    """A JWT for the signed playback id; ``n`` makes each token (and its URL) distinct."""
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    if info["pem"] not in _KEYS:  # parsing (and checking) the RSA key is the slow part
        _KEYS[info["pem"]] = load_pem_private_key(info["pem"].encode(), None)
    claims = {"sub": info["signed"], "aud": "v", "exp": int(time.time()) + 6 * 3600, "n": n}
    key = _KEYS[info["pem"]]
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": info["key_id"]})


def _uris(text: str) -> list[str]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            out.append(line)
        for m in re.finditer(r'URI="([^"]+)"', line):
            out.append(m.group(1))
    return out


def collect_paths(base: str, master_url: str) -> tuple[list[str], list[str]]:
    """Media playlist paths and segment paths (absolute URL paths) reachable from a master."""
    r = httpx.get(base + master_url, timeout=30)
    r.raise_for_status()
    playlists, segments = [], []
    for uri in _uris(r.text):
        pl = urllib.parse.urljoin(master_url, uri)
        if not pl.split("?")[0].endswith(".m3u8"):
            continue
        playlists.append(pl)
        media = httpx.get(base + pl, timeout=30)
        media.raise_for_status()
        for seg in _uris(media.text):
            segments.append(urllib.parse.urljoin(pl, seg))
    # keep order, drop duplicates (an init segment is listed once per playlist anyway)
    return playlists, list(dict.fromkeys(segments))


def build_fixture(args: argparse.Namespace, run_dir: Path, data_dir: Path) -> dict[str, Any]:
    source = run_dir / "source.mp4"
    log(f"making a {args.duration} s 1280x720 H.264/AAC source")
    make_source(source, args.duration)
    log(f"source: {source.stat().st_size / 1e6:.1f} MB; ingesting with `reelhouse serve`")
    rh = Reelhouse(data_dir, run_dir / "reelhouse-ingest.log", worker=True)
    try:
        t0 = time.monotonic()
        asset_id = upload_asset(rh, source)
        log(f"asset {asset_id} ready after {time.monotonic() - t0:.0f} s")
        info = asset_info(rh, asset_id)
    finally:
        rh.stop()
    return info


def plan_paths(rh: Reelhouse, info: dict[str, Any], objects: Path, n_tokens: int) -> dict:
    pub, sig = info["public"], info["signed"]
    public_master = f"/stream/{pub}.m3u8"
    pub_playlists, pub_segments = collect_paths(rh.base, public_master)
    token = sign(info, 0)
    sig_playlists, sig_segments = collect_paths(rh.base, f"/stream/{sig}.m3u8?token={token}")
    if not pub_segments or not sig_segments:
        raise RuntimeError("no segments found in the playlists")
    # map /stream/{pid}/v{n}/{rest} to the stored object, relative to the objects dir
    nginx_paths = []
    asset_dirs = list(objects.glob(f"**/assets/{info['asset_id']}"))
    if len(asset_dirs) != 1:
        raise RuntimeError(f"cannot find the asset's objects under {objects}: {asset_dirs}")
    rel_asset = asset_dirs[0].relative_to(objects).as_posix()
    for p in pub_segments:
        rest = p.split(f"/stream/{pub}/", 1)[1]
        f = objects / rel_asset / rest
        if not f.is_file():
            raise RuntimeError(f"{p} is not stored at {f}")
        nginx_paths.append(f"/{rel_asset}/{rest}")
    # the top-bitrate media playlist is the one a player loads most; take the first listed
    tokens = [f"/stream/{sig}.m3u8?token={sign(info, i)}" for i in range(n_tokens)]
    sizes = [
        (objects / rel_asset / p.split(f"/stream/{pub}/", 1)[1]).stat().st_size
        for p in pub_segments
    ]
    return {
        "seg-nginx": nginx_paths,
        "seg-public": pub_segments,
        "seg-signed": sig_segments,
        "seg-accel": sig_segments,
        "seg-cold": pub_segments,
        "master-public": [public_master],
        "master-signed": tokens,
        "media-public": pub_playlists[:1],
        "media-signed": sig_playlists[:1],
        "_segment_bytes": sizes,
        "_rel_asset": rel_asset,
    }


def check_same_bytes(rh: Reelhouse, ng: Nginx, paths: dict) -> None:
    for a, b in zip(
        paths["seg-public"][:3] + paths["seg-public"][-2:],
        paths["seg-nginx"][:3] + paths["seg-nginx"][-2:],
        strict=True,
    ):
        ra, rb = httpx.get(rh.base + a, timeout=30), httpx.get(ng.base + b, timeout=30)
        if ra.status_code != 200 or rb.status_code != 200:
            raise RuntimeError(f"segment check: {a} -> {ra.status_code}, {b} -> {rb.status_code}")
        if hashlib.sha256(ra.content).digest() != hashlib.sha256(rb.content).digest():
            raise RuntimeError(f"segment check: {a} and {b} differ")
    for name in ("seg-signed", "master-signed", "media-public", "media-signed"):
        r = httpx.get(rh.base + paths[name][0], timeout=30, headers={"Accept-Encoding": "gzip"})
        if r.status_code != 200:
            raise RuntimeError(f"{name}: {paths[name][0]} -> {r.status_code} {r.text[:300]}")


def check_front(rh: Reelhouse, front: Nginx, paths: dict) -> None:
    """Through the nginx front, signed segments carry reelhouse's headers and the same bytes;
    a segment path without its grant is refused by reelhouse (403), not served by nginx."""
    for path in paths["seg-accel"][:3]:
        direct, fronted = httpx.get(rh.base + path, timeout=30), httpx.get(front.base + path)
        if fronted.status_code != 200 or fronted.content != direct.content:
            raise RuntimeError(f"front: {path} -> {fronted.status_code}, bytes differ")
        if fronted.headers.get("cache-control") != direct.headers.get("cache-control"):
            raise RuntimeError(f"front: {path} lost reelhouse's Cache-Control")
    # /stream/{pid}/g/{grant}/v{n}/... -> /stream/{pid}/v{n}/...
    forged = re.sub(r"^(/stream/[^/]+)/[a-z]+/[^/]+/(v\d+/)", r"\1/\2", paths["seg-accel"][0])
    if forged == paths["seg-accel"][0]:
        raise RuntimeError(f"front: no grant found in {forged}")
    if httpx.get(front.base + forged).status_code != 403:
        raise RuntimeError(f"front: a segment without its grant was not refused: {forged}")


# ------------------------------------------------------------------------------------------
# measuring
# ------------------------------------------------------------------------------------------
def wrk(base: str, paths: list[str], lua: Path, work: Path, seconds: float, conns: int,
        threads: int, gzip: bool) -> dict[str, Any]:  # fmt: skip
    plist = work / "paths.txt"
    plist.write_text("\n".join(paths) + "\n")
    env = dict(os.environ, BENCH_PATHS=str(plist), BENCH_GZIP="1" if gzip else "0")
    argv = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
            "-s", str(lua), base]  # fmt: skip
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=seconds + 60)
    m = re.search(r"^WRKJSON (.*)$", r.stdout, re.M)
    if r.returncode != 0 or m is None:
        raise RuntimeError(f"wrk failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    out: dict[str, Any] = json.loads(m.group(1))
    secs = out["duration_us"] / 1e6
    out["rps"] = out["requests"] / secs
    out["mbps"] = out["bytes"] / secs / 1e6
    out["errors"] = sum(v for k, v in out.items() if k.startswith("err_"))
    return out


def run_test(name: str, servers: dict[str, Any], paths: dict, lua: Path, work: Path,
             args: argparse.Namespace, seconds: float) -> dict[str, Any]:  # fmt: skip
    _, target, gzip = TESTS[name]
    server = servers[target]
    cpu0 = server.cpu()
    res = wrk(server.base, paths[name], lua, work, seconds, args.conns, args.threads, gzip)
    res["server_cpu_s"] = server.cpu() - cpu0
    res["server_cpu_per_1k_req_ms"] = res["server_cpu_s"] / max(res["requests"], 1) * 1e6
    return res


async def _open_loop(
    port: int, paths: list[str], rate: float, conns: int, seconds: float
) -> dict[str, Any]:
    """``conns`` keep-alive connections sending ``rate`` requests/s in all on a fixed schedule
    (open loop); a request's latency counts from its scheduled time, so a stalled server is
    not hidden by clients that wait for it (no coordinated omission)."""
    loop = asyncio.get_running_loop()
    interval = conns / rate
    t0 = loop.time() + 0.2
    end = t0 + seconds
    lat: list[float] = []
    bad = 0

    async def client(i: int) -> None:
        nonlocal bad
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        k = 0
        try:
            while (due := t0 + (i / conns + k) * interval) < end:
                if (delay := due - loop.time()) > 0:
                    await asyncio.sleep(delay)
                path = paths[(i + k * conns) % len(paths)]
                writer.write(
                    f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    "Accept-Encoding: gzip\r\n\r\n".encode()
                )
                head = await reader.readuntil(b"\r\n\r\n")
                length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
                await reader.readexactly(int(length.group(1)) if length else 0)
                lat.append(loop.time() - due)
                bad += head[9:12] != b"200"
                k += 1
        finally:
            writer.close()

    await asyncio.gather(*(client(i) for i in range(conns)))
    lat.sort()

    def q(p: float) -> float:
        return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1e6

    return {
        "requests": len(lat),
        "rps": len(lat) / seconds,
        "errors": bad,
        "p50_us": q(50),
        "p95_us": q(95),
        "p99_us": q(99),
        "max_us": lat[-1] * 1e6,
    }


def open_loop(rh: Reelhouse, paths: list[str], args: argparse.Namespace) -> dict[str, Any]:
    cpu0 = rh.cpu()
    res = asyncio.run(_open_loop(rh.port, paths, args.open_rate, args.conns, args.seconds))
    res["server_cpu_s"] = rh.cpu() - cpu0
    res["server_cpu_per_1k_req_ms"] = res["server_cpu_s"] / max(res["requests"], 1) * 1e6
    return res


def thumbnails(rh: Reelhouse, pid: str, widths: list[int], round_no: int) -> dict[str, Any]:
    cold, cached = {}, {}
    with httpx.Client(base_url=rh.base, timeout=120) as c:
        for k, w in enumerate(widths):
            # a time no earlier round asked for, so the first request is really cold
            t = round(1.0 + round_no * 2.3 + k * 0.4, 2)
            url = f"/image/{pid}/thumbnail.jpg?width={w}&time={t}"
            times = []
            for _ in range(2):
                t0 = time.perf_counter()
                r = c.get(url)
                times.append((time.perf_counter() - t0) * 1e3)
                if r.status_code != 200 or not r.content.startswith(b"\xff\xd8"):
                    raise RuntimeError(f"thumbnail {url}: {r.status_code} {r.text[:200]}")
            cold[str(w)], cached[str(w)] = times
    return {
        "cold_ms": cold,
        "cached_ms": cached,
        "cold_median_ms": statistics.median(cold.values()),
        "cached_median_ms": statistics.median(cached.values()),
    }


def rotated(seq: list[str], k: int) -> list[str]:
    k %= len(seq)
    return seq[k:] + seq[:k]


def measure_all(args: argparse.Namespace, servers: dict[str, Any], paths: dict, info: dict,
                lua: Path, work: Path) -> list[dict[str, Any]]:  # fmt: skip
    rh = servers["reelhouse"]
    log("warm-up")
    for name in TESTS:
        run_test(name, servers, paths, lua, work, args, args.warmup)
    rounds = []
    for i in range(args.rounds):
        res: dict[str, Any] = {"round": i + 1, "tests": {}}
        seg_order = rotated(list(SEGMENT_TESTS), i)
        pl_order = rotated(list(PLAYLIST_TESTS), i)
        blocks = [("segments", seg_order), ("playlists", pl_order), ("thumbnails", [])]
        if args.open_rate > 0:
            blocks.append(("open", list(OPEN_TESTS)))
        for _, order in [blocks[(j + i) % len(blocks)] for j in range(len(blocks))]:
            if not order:
                log(f"round {i + 1}: thumbnails")
                res["thumbnails"] = thumbnails(rh, info["public"], args.widths, i)
                continue
            for name in order:
                if name in OPEN_TESTS:
                    r = open_loop(rh, paths[OPEN_TESTS[name]], args)
                else:
                    r = run_test(name, servers, paths, lua, work, args, args.seconds)
                r.setdefault("mbps", 0.0)
                res["tests"][name] = r
                log(
                    f"round {i + 1}: {name:14s} {r['rps']:9.0f} req/s {r['mbps']:8.1f} MB/s "
                    f"p50 {r['p50_us'] / 1e3:6.2f} p99 {r['p99_us'] / 1e3:7.2f} ms "
                    f"errors {r['errors']} cpu {r['server_cpu_s']:.1f}s"
                )
        t = res["tests"]
        res["ratio_public_vs_nginx"] = t["seg-public"]["mbps"] / t["seg-nginx"]["mbps"]
        res["ratio_signed_vs_nginx"] = t["seg-signed"]["mbps"] / t["seg-nginx"]["mbps"]
        res["ratio_accel_vs_nginx"] = t["seg-accel"]["mbps"] / t["seg-nginx"]["mbps"]
        rounds.append(res)
    return rounds


# ------------------------------------------------------------------------------------------
# profile (optional)
# ------------------------------------------------------------------------------------------
def profile(args: argparse.Namespace, rh: Reelhouse, ng: Nginx, paths: dict, lua: Path,
            work: Path, out_dir: Path) -> dict[str, Any]:  # fmt: skip
    spy = REPO / ".venv" / "bin" / "py-spy"
    servers = {"reelhouse": rh, "nginx": ng}
    report = {}
    for name in args.profile:
        raw = out_dir / f"profile-{name}.txt"
        secs = max(int(args.seconds), 5)
        spy_proc = subprocess.Popen(
            [
                str(spy),
                "record",
                "--pid",
                str(rh.proc.pid),
                "--rate",
                "200",
                "--duration",
                str(secs),
                "--format",
                "raw",
                "--nonblocking",
                "-o",
                str(raw),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(1.0)
        run_test(name, servers, paths, lua, work, args, secs - 1)
        spy_proc.wait(60)
        report[name] = summarize_profile(raw)
        log(f"profile {name}: {raw}")
    return report


# (component, frame substrings): a sample counts for the first component, scanning from the
# innermost frame outwards, whose substring one of its frames contains
COMPONENTS: list[tuple[str, tuple[str, ...]]] = [
    ("RSA verify / JWT parse (cryptography, PyJWT)", ("cryptography/", "(jwt/")),
    ("database (SQLAlchemy + psycopg)", ("sqlalchemy/", "psycopg/", "greenlet")),
    ("gzip", ("(gzip.py", "zlib")),
    (
        "file read in worker threads (anyio/threading)",
        (
            "threading.py",
            "concurrent/futures",
            "anyio/_backends",
            "_joinrealpath",
            "(os.py",
            "posixpath",
        ),
    ),
    ("os.stat / store (reelhouse.storage)", ("reelhouse/storage/",)),
    ("reelhouse delivery code", ("reelhouse/delivery/",)),
    ("reelhouse middleware (RequestContext, HostRouting)", ("reelhouse/server/",)),
    ("Starlette routing/responses", ("starlette/",)),
    ("uvicorn/httptools protocol", ("uvicorn/",)),
    ("event loop (uvloop/asyncio)", ("asyncio/", "uvloop")),
]


def summarize_profile(raw: Path, top: int = 20) -> dict[str, Any]:
    """Components (see ``COMPONENTS``), reelhouse functions inclusive, leaf functions."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    comp: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        own[frames[-1]] += n
        for f in set(frames):
            if "(reelhouse/" in f and "reelhouse/cli/" not in f:
                incl[f] += n
        for f in reversed(frames):
            name = next((c for c, keys in COMPONENTS if any(k in f for k in keys)), None)
            if name is not None:
                comp[name] += n
                break
        else:
            comp["other"] += n

    def pct(c: Counter[str], k: int) -> list[tuple[str, float]]:
        return [(f, round(100 * n / max(total, 1), 1)) for f, n in c.most_common(k)]

    return {
        "samples": total,
        "components": pct(comp, 20),
        "inclusive": pct(incl, top),
        "self": pct(own, top),
    }


# ------------------------------------------------------------------------------------------
# report
# ------------------------------------------------------------------------------------------
def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarize(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {"tests": {}}
    for name in [*TESTS, *OPEN_TESTS]:
        rs = [r["tests"][name] for r in rounds if name in r["tests"]]
        if not rs:
            continue
        out["tests"][name] = {
            k: med([x[k] for x in rs])
            for k in (
                "rps",
                "mbps",
                "p50_us",
                "p95_us",
                "p99_us",
                "errors",
                "server_cpu_per_1k_req_ms",
            )
        }
    out["ratio_public_vs_nginx"] = med([r["ratio_public_vs_nginx"] for r in rounds])
    out["ratio_signed_vs_nginx"] = med([r["ratio_signed_vs_nginx"] for r in rounds])
    out["ratio_accel_vs_nginx"] = med([r.get("ratio_accel_vs_nginx", 0.0) for r in rounds])
    thumbs = [r["thumbnails"] for r in rounds if "thumbnails" in r]
    out["thumb_cold_ms"] = med([t["cold_median_ms"] for t in thumbs])
    out["thumb_cached_ms"] = med([t["cached_median_ms"] for t in thumbs])
    widths = sorted({w for t in thumbs for w in t["cold_ms"]}, key=int)
    out["thumb_by_width"] = {
        w: (med([t["cold_ms"][w] for t in thumbs]), med([t["cached_ms"][w] for t in thumbs]))
        for w in widths
    }
    return out


def targets(s: dict[str, Any]) -> list[tuple[str, str, bool]]:
    p99 = s["tests"]["master-signed"]["p99_us"] / 1e3
    rows = [
        (
            f"segments, reelhouse public MB/s >= {TARGET_SEGMENTS_VS_NGINX} x nginx",
            f"{s['ratio_public_vs_nginx']:.2f}x",
            s["ratio_public_vs_nginx"] >= TARGET_SEGMENTS_VS_NGINX,
        ),
        (
            f"segments, reelhouse signed MB/s >= {TARGET_SEGMENTS_VS_NGINX} x nginx",
            f"{s['ratio_signed_vs_nginx']:.2f}x",
            s["ratio_signed_vs_nginx"] >= TARGET_SEGMENTS_VS_NGINX,
        ),
        (
            f"segments, reelhouse signed behind nginx (X-Accel-Redirect) MB/s >= "
            f"{TARGET_SEGMENTS_VS_NGINX} x nginx",
            f"{s['ratio_accel_vs_nginx']:.2f}x",
            s["ratio_accel_vs_nginx"] >= TARGET_SEGMENTS_VS_NGINX,
        ),
        (
            f"signed multivariant playlist p99 < {TARGET_SIGNED_MASTER_P99_MS:g} ms",
            f"{p99:.1f} ms",
            p99 < TARGET_SIGNED_MASTER_P99_MS,
        ),
    ]
    if "master-signed-open" in s["tests"]:
        p99o = s["tests"]["master-signed-open"]["p99_us"] / 1e3
        rows.append(
            (
                f"signed multivariant playlist p99 < {TARGET_SIGNED_MASTER_P99_MS:g} ms, open loop "
                f"({s['tests']['master-signed-open']['rps']:.0f} req/s offered)",
                f"{p99o:.1f} ms",
                p99o < TARGET_SIGNED_MASTER_P99_MS,
            )
        )
    return rows


def report(res: dict[str, Any]) -> str:
    s, rounds, meta = res["summary"], res["rounds"], res["meta"]
    lines = [
        f"{meta['rounds']} round(s), {meta['seconds']} s per test, {meta['conns']} connections, "
        f"wrk -t{meta['threads']}; {meta['segments']} segments of {meta['segment_mb']:.1f} MB in "
        f"all (mean {meta['segment_mean_kb']:.0f} KB); medians over rounds",
        "",
        "| test | req/s | MB/s | p50 ms | p95 ms | p99 ms | errors | server CPU ms / 1k req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, (label, _, _) in TESTS.items():
        t = s["tests"][name]
        lines.append(
            f"| {label} | {t['rps']:,.0f} | {t['mbps']:,.1f} | {t['p50_us'] / 1e3:.2f} | "
            f"{t['p95_us'] / 1e3:.2f} | {t['p99_us'] / 1e3:.2f} | {t['errors']:.0f} | "
            f"{t['server_cpu_per_1k_req_ms']:,.0f} |"
        )
    if any(n in s["tests"] for n in OPEN_TESTS):
        lines += [
            "",
            f"Open loop: {meta['conns']} keep-alive connections sending {meta.get('open_rate')} "
            "req/s in all on a fixed schedule; latency from the scheduled time.",
            "",
            "| test | req/s | p50 ms | p95 ms | p99 ms | errors | server CPU ms / 1k req |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, wrk_name in OPEN_TESTS.items():
            if name not in s["tests"]:
                continue
            t = s["tests"][name]
            lines.append(
                f"| {TESTS[wrk_name][0]}, open loop | {t['rps']:,.0f} | {t['p50_us'] / 1e3:.2f} | "
                f"{t['p95_us'] / 1e3:.2f} | {t['p99_us'] / 1e3:.2f} | {t['errors']:.0f} | "
                f"{t['server_cpu_per_1k_req_ms']:,.0f} |"
            )
    lines += ["", "| ratio (MB/s) | median | per round |", "|---|---:|---|"]
    for key, label in (
        ("ratio_public_vs_nginx", "reelhouse public / nginx"),
        ("ratio_signed_vs_nginx", "reelhouse signed / nginx"),
        ("ratio_accel_vs_nginx", "reelhouse signed behind nginx (X-Accel-Redirect) / nginx"),
    ):
        per = ", ".join(f"{r[key]:.2f}" for r in rounds)
        lines.append(f"| {label} | {s[key]:.2f} | {per} |")
    lines += ["", "| thumbnail width | cold ms | cached ms |", "|---|---:|---:|"]
    for w, (c, h) in s["thumb_by_width"].items():
        lines.append(f"| {w} | {c:.0f} | {h:.1f} |")
    lines.append(f"| **median** | **{s['thumb_cold_ms']:.0f}** | **{s['thumb_cached_ms']:.1f}** |")
    lines += ["", "| target | result | |", "|---|---:|---|"]
    for label, value, ok in targets(s):
        lines.append(f"| {label} | {value} | {'PASS' if ok else 'FAIL'} |")
    for name, prof in res.get("profile", {}).items():
        lines += ["", f"py-spy, {name} ({prof['samples']} samples), % of samples by component:"]
        lines += [f"  {pct:5.1f}  {f}" for f, pct in prof.get("components", [])]
        lines += ["reelhouse functions, inclusive %:"]
        lines += [f"  {pct:5.1f}  {f}" for f, pct in prof["inclusive"][:15]]
        lines += ["innermost functions (self) %:"]
        lines += [f"  {pct:5.1f}  {f}" for f, pct in prof["self"][:12]]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    nginx_v = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "nginx": nginx_v,
        "wrk": wrk_v.strip(),
        "loadavg_start": os.getloadavg(),
    }


# ------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="20 s source, 3 s tests, 1 round")
    ap.add_argument("--seconds", type=int, default=10, help="seconds per wrk test")
    ap.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per test")
    ap.add_argument("--duration", type=int, default=60, help="source clip seconds")
    ap.add_argument("--conns", type=int, default=100, help="concurrent connections")
    ap.add_argument("--threads", type=int, default=2, help="wrk threads")
    ap.add_argument("--tokens", type=int, default=200, help="distinct JWTs for signed master")
    ap.add_argument("--widths", default="160,320,640,1280", help="thumbnail widths")
    ap.add_argument("--nginx-workers", type=int, default=1)
    ap.add_argument(
        "--open-rate",
        type=float,
        default=100.0,
        help="req/s offered in all by the open-loop playlist tests (0: skip them)",
    )
    ap.add_argument("--profile", default="", help="tests to profile with py-spy afterwards, "
                    "e.g. master-signed,seg-public (raw stacks kept in the work dir)")  # fmt: skip
    ap.add_argument("--work", type=Path, default=REPO / ".bench" / "delivery")
    ap.add_argument("--json", type=Path)
    ap.add_argument("--report", type=Path, help="print the tables of a saved --json run")
    ap.add_argument("--keep", action="store_true", help="keep the data dir")
    args = ap.parse_args()
    if args.report:
        print(report(json.loads(args.report.read_text())))
        return
    if args.quick:
        args.rounds, args.seconds, args.warmup, args.duration = 1, 3, 1, 20
    args.widths = [int(w) for w in args.widths.split(",")]
    args.profile = [p for p in args.profile.split(",") if p]
    for p in args.profile:
        if p not in TESTS:
            sys.exit(f"unknown test {p}; one of {', '.join(TESTS)}")
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: apt-get install -y wrk")
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        sys.exit("nginx not found: apt-get install -y nginx-light")
    os.environ["PATH"] += ":/usr/sbin"

    args.work.mkdir(parents=True, exist_ok=True)
    run_dir = Path(tempfile.mkdtemp(prefix="run-", dir=args.work))
    started: list[Any] = []

    def on_term(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    meta = {"machine": machine(), "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
    try:
        data_dir = run_dir / "data"
        info = build_fixture(args, run_dir, data_dir)
        rh = Reelhouse(data_dir, run_dir / "reelhouse.log", worker=False)
        started.append(rh)
        ng = Nginx(data_dir / "objects", run_dir / "nginx", args.nginx_workers)
        started.append(ng)
        accel = Reelhouse(
            data_dir,
            run_dir / "reelhouse-accel.log",
            worker=False,
            extra_env={"REELHOUSE_ACCEL_REDIRECT_PREFIX": "/_objects/"},
        )
        started.append(accel)
        front = Nginx(data_dir / "objects", run_dir / "front", args.nginx_workers, accel.port)
        started.append(front)
        nocache = Reelhouse(
            data_dir,
            run_dir / "reelhouse-nocache.log",
            worker=False,
            extra_env={"REELHOUSE_DELIVERY_MEMORY_CACHE_MB": "0"},
        )
        started.append(nocache)
        paths = plan_paths(rh, info, data_dir / "objects", args.tokens)
        check_same_bytes(rh, ng, paths)
        check_front(rh, front, paths)
        sizes = paths["_segment_bytes"]
        lua = run_dir / "rotate.lua"
        lua.write_text(WRK_LUA)
        servers = {"reelhouse": rh, "nginx": ng, "front": front, "nocache": nocache}
        rounds = measure_all(args, servers, paths, info, lua, run_dir)
        meta.update(
            rounds=args.rounds, seconds=args.seconds, conns=args.conns, threads=args.threads,
            segments=len(sizes), segment_mb=sum(sizes) / 1e6,
            segment_mean_kb=sum(sizes) / len(sizes) / 1e3, source_s=args.duration,
            nginx_workers=args.nginx_workers, tokens=args.tokens, open_rate=args.open_rate,
            loadavg_end=os.getloadavg(),
            renditions=sorted({p.split("/")[-2] for p in paths["seg-public"]}),
        )  # fmt: skip
        res: dict[str, Any] = {"meta": meta, "rounds": rounds, "summary": summarize(rounds)}
        if args.profile:
            res["profile"] = profile(args, rh, ng, paths, lua, run_dir, args.work)
        if args.json:
            args.json.parent.mkdir(parents=True, exist_ok=True)
            args.json.write_text(json.dumps(res, indent=2, default=str))
        print()
        print(report(json.loads(json.dumps(res, default=str))))
        ok = all(t[2] for t in targets(res["summary"]))
        print(
            f"\nload average at start {meta['machine']['loadavg_start']}, end {meta['loadavg_end']}"
        )
        sys.exit(0 if ok else 1)
    finally:
        for server in reversed(started):
            with contextlib.suppress(Exception):
                server.stop()
        for log_file in run_dir.glob("**/*.log"):
            with contextlib.suppress(OSError):
                shutil.copy(log_file, args.work / f"last-{log_file.name}")
        if not args.keep:
            shutil.rmtree(run_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
