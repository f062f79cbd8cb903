"""The guarded client against real HTTP servers on 127.0.0.1.

Every other name in these tests goes only to a fake resolver that answers 127.0.0.x, and the
system resolver is fenced off (``_no_dns``), so nothing here ever leaves the loopback interface.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from reelhouse.outbound import (
    AllowList,
    OutboundFailed,
    OutboundRefused,
    Policy,
    download_to,
    post_json,
    system_resolver,
)
from reelhouse.outbound.policy import IPAddress

LOOPBACK = ipaddress.IPv4Address("127.0.0.1")


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: bytes = b"", **headers: str) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.server.seen.append(self.path)
        if url.path == "/ok":
            self._answer(200, b"hello", Content_Type="text/plain", Content_Length="5")
        elif url.path == "/bytes":  # no Content-Length: the body ends when the connection does
            self._answer(200, Content_Type="video/mp4")
            for _ in range(int(query["n"]) // 1000):
                self.wfile.write(b"x" * 1000)
        elif url.path == "/declared":
            self._answer(200, Content_Length=query["n"])
        elif url.path == "/redirect":
            self._answer(int(query.get("status", "302")), Location=query["to"])
        elif url.path == "/loop":
            self._answer(302, Location="/loop")
        elif url.path == "/slow":
            time.sleep(float(query["s"]))
            self._answer(200, b"late")
        elif url.path == "/trickle":
            self._answer(200)
            for _ in range(40):
                self.wfile.write(b".")
                self.wfile.flush()
                time.sleep(0.05)
        else:
            self._answer(404, b"no")

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.seen.append(self.path)
        if url.path == "/hook":
            echo = {"body": body.decode(), "headers": {k.lower(): v for k, v in self.headers.items()}}
            data = json.dumps(echo).encode()
            self._answer(202, data, Content_Length=str(len(data)), X_Receiver="test")
        elif url.path == "/hook-redirect":
            self._answer(302, Location="/hook")
        elif url.path == "/hook-slow":
            time.sleep(1.0)
            self._answer(200)
        else:
            self._answer(404)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    seen: list[str]

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that gave up (timeouts, byte caps) leave broken pipes behind


@contextlib_contextmanager := None  # placeholder removed below
