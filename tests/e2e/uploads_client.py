"""Small clients for end-to-end upload tests: raw sockets where a test needs to stall or cut a
body midway, which ordinary HTTP clients cannot do."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path
from urllib.parse import urlsplit

import httpx

TUS = {"Tus-Resumable": "1.0.0"}
PATCH = {**TUS, "Content-Type": "application/offset+octet-stream"}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def create_direct_upload(client: httpx.Client, **body: object) -> dict[str, object]:
    response = client.post("/video/v1/uploads", json={"cors_origin": "*", **body})
    assert response.status_code == 201, response.text
    upload: dict[str, object] = response.json()["data"]
    return upload


def put_in_chunks(url: str, data: bytes, chunk: int, content_type: str | None = None) -> None:
    """Send ``data`` as UpChunk does (``Content-Range`` chunks), checking each 308 and its
    ``Range``, and the final 200 with the whole file's sha256."""
    extra = {"Content-Type": content_type} if content_type else {}
    with httpx.Client(timeout=30) as browser:
        for start in range(0, len(data), chunk):
            end = min(start + chunk, len(data)) - 1
            response = browser.put(
                url,
                content=data[start : end + 1],
                headers={**extra, "Content-Range": f"bytes {start}-{end}/{len(data)}"},
            )
            if end + 1 < len(data):
                assert response.status_code == 308, response.text
                assert response.headers["range"] == f"bytes=0-{end}"
            else:
                assert response.status_code == 200, response.text
                assert response.json()["data"]["sha256"] == sha256(data)


def stored_bytes(data_dir: Path, upload_id: str) -> bytes:
    return (data_dir / "uploads" / upload_id).read_bytes()


class RawRequest:
    """An HTTP/1.1 request whose body the test sends piece by piece."""

    def __init__(self, url: str, method: str, headers: dict[str, str], length: int) -> None:
        parts = urlsplit(url)
        self.sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80))
        lines = [f"{method} {parts.path} HTTP/1.1", f"Host: {parts.netloc}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        lines.append(f"Content-Length: {length}")
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def response_status(self, timeout: float = 10.0) -> int:
        self.sock.settimeout(timeout)
        head = b""
        while b"\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                return 0
            head += chunk
        return int(head.split(b" ", 2)[1])

    def close(self) -> None:
        self.sock.close()
