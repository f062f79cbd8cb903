"""A webhook receiver on a loopback port that records every delivery."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


@dataclass
class Receiver:
    """Answers 200 to every POST (or ``fail_first`` times 500 first) and keeps the requests."""

    fail_first: int = 0
    deliveries: list[Delivery] = field(default_factory=list)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver._lock:
                    if receiver.fail_first > 0:
                        receiver.fail_first -= 1
                        self.send_response(500)
                        self.end_headers()
                        return
                    receiver.deliveries.append(
                        Delivery({k.lower(): v for k, v in self.headers.items()}, body)
                    )
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return

        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/mux"

    def types_for(self, object_id: str) -> list[str]:
        with self._lock:
            return [
                d.event["type"] for d in self.deliveries if d.event["object"]["id"] == object_id
            ]

    def wait_for(self, object_id: str, event_type: str, timeout: float = 60.0) -> Delivery:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for delivery in self.deliveries:
                    event = delivery.event
                    if event["type"] == event_type and event["object"]["id"] == object_id:
                        return delivery
            time.sleep(0.2)
        raise AssertionError(f"no {event_type} for {object_id}; got {self.types_for(object_id)}")

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
