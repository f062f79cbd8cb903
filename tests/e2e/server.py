"""A real ``reelhouse serve`` process on a loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

TOKEN_ID = "e2etokenid000000000000"
TOKEN_SECRET = "e2e-secret-" + "s" * 40


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class ServerProcess:
    data_dir: Path
    database_url: str | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    args: list[str] = field(default_factory=list)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth(self) -> tuple[str, str]:
        return (TOKEN_ID, TOKEN_SECRET)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REELHOUSE_")}
        env.update(
            REELHOUSE_DATA_DIR=str(self.data_dir),
            REELHOUSE_PORT=str(self.port),
            REELHOUSE_BOOTSTRAP_TOKEN=f"{TOKEN_ID}:{TOKEN_SECRET}",
            REELHOUSE_LOG_LEVEL="warning",
            REELHOUSE_LOCK_HANDOVER_SECONDS="2",
        )
        if self.database_url:
            env["REELHOUSE_DATABASE_URL"] = self.database_url
        env.update(self.extra_env)
        return env

    def start(self, *, timeout: float = 60.0) -> ServerProcess:
        log = open(self.data_dir / f"serve-{self.port}.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reelhouse", "serve", *self.args],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"reelhouse serve exited: {self.log_tail()}")
            try:
                if httpx.get(self.base_url + "/readyz", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"reelhouse serve did not become ready: {self.log_tail()}")

    def log_tail(self) -> str:
        path = self.data_dir / f"serve-{self.port}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def kill9(self) -> None:
        """Kill the web process at once, as a crash would (the embedded database lives on)."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, auth=self.auth, timeout=30)
