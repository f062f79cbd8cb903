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
            echo = {
                "body": body.decode(),
                "headers": {k.lower(): v for k, v in self.headers.items()},
            }
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


def _serve(tls: ssl.SSLContext | None = None) -> Iterator[_Server]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.seen = []
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def server() -> Iterator[_Server]:
    yield from _serve()


@pytest.fixture
def other() -> Iterator[_Server]:
    yield from _serve()


@pytest.fixture(autouse=True)
def _no_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any system lookup of anything but a numeric loopback address."""
    real = socket.getaddrinfo

    def guarded(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host not in ("127.0.0.1", "::1"):
            raise AssertionError(f"the system resolver was asked for {host!r}")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", guarded)


class FakeDNS:
    """A resolver with a fixed table; records what it was asked."""

    def __init__(self, table: dict[str, Sequence[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> list[IPAddress]:
        self.asked.append(host)
        return [ipaddress.ip_address(a) for a in self.table.get(host, [])]


def port(server: _Server) -> int:
    return int(server.server_address[1])


def trusting(*entries: str, **kwargs: Any) -> Policy:
    return Policy(allow_hosts=AllowList.parse(",".join(entries)), **kwargs)


# --- refusal and operator trust ------------------------------------------------------------


async def test_loopback_is_refused_by_default(server: _Server, tmp_path: Path) -> None:
    target = tmp_path / "out"
    with pytest.raises(OutboundRefused) as caught:
        await download_to(f"http://127.0.0.1:{port(server)}/ok", target, Policy())
    assert caught.value.reason == "loopback"
    assert caught.value.message == (
        "The URL's host is 127.0.0.1, a loopback address, which is not allowed."
    )
    assert server.seen == []
    assert not target.exists()


@pytest.mark.parametrize(
    "host", ["localhost", "2130706433", "0x7f.1", "127.1", "[::ffff:127.0.0.1]", "017700000001"]
)
async def test_other_spellings_of_loopback_are_refused(
    server: _Server, tmp_path: Path, host: str
) -> None:
    with pytest.raises(OutboundRefused):
        await download_to(f"http://{host}:{port(server)}/ok", tmp_path / "out", Policy())
    assert server.seen == []


@pytest.mark.parametrize(
    "policy",
    [Policy(allow_private=True), trusting("127.0.0.0/8"), trusting("127.0.0.1")],
    ids=["allow_private", "cidr", "address"],
)
async def test_operator_trust_lets_loopback_through(
    server: _Server, tmp_path: Path, policy: Policy
) -> None:
    target = tmp_path / "out"
    result = await download_to(f"http://127.0.0.1:{port(server)}/ok", target, policy)
    assert target.read_bytes() == b"hello"
    assert (result.size, result.content_type) == (5, "text/plain")
    assert result.final_url == f"http://127.0.0.1:{port(server)}/ok"


async def test_a_name_that_resolves_to_a_refused_address_is_refused(
    server: _Server, tmp_path: Path
) -> None:
    dns = FakeDNS({"cdn.example.com": ["127.0.0.1"]})
    with pytest.raises(OutboundRefused) as caught:
        await download_to(
            f"http://cdn.example.com:{port(server)}/ok", tmp_path / "out", Policy(), resolver=dns
        )
    assert caught.value.message == (
        "The URL's host cdn.example.com resolves to 127.0.0.1, a loopback address, "
        "which is not allowed."
    )
    assert server.seen == []


async def test_one_refused_answer_among_many_refuses(server: _Server, tmp_path: Path) -> None:
    dns = FakeDNS({"cdn.example.com": ["127.0.0.1", "10.0.0.5"]})
    policy = trusting("127.0.0.1/32")  # the first answer alone would be allowed
    with pytest.raises(OutboundRefused) as caught:
        await download_to(
            f"http://cdn.example.com:{port(server)}/ok", tmp_path / "out", policy, resolver=dns
        )
    assert caught.value.reason == "private"
    assert server.seen == []


async def test_the_connection_goes_to_the_vetted_address(server: _Server, tmp_path: Path) -> None:
    """DNS rebinding: the name is resolved once, by the guard, and the socket goes to that
    answer; the system resolver (fenced by _no_dns) is never asked for the name."""
    answers = iter([["127.0.0.1"], ["127.0.0.2"]])

    class Rebinding(FakeDNS):
        async def __call__(self, host: str, port: int) -> list[IPAddress]:
            self.table[host] = next(answers)
            return await super().__call__(host, port)

    dns = Rebinding({})
    policy = trusting("127.0.0.1/32")
    url = f"http://rebind.example:{port(server)}/ok"
    await download_to(url, tmp_path / "out", policy, resolver=dns)
    assert dns.asked == ["rebind.example"]
    assert server.seen == ["/ok"]
    with pytest.raises(OutboundRefused):  # the second lookup answers 127.0.0.2: refused
        await download_to(url, tmp_path / "out", policy, resolver=dns)


async def test_unresolvable_names_fail(tmp_path: Path) -> None:
    with pytest.raises(OutboundFailed) as caught:
        await download_to(
            "http://nowhere.example/", tmp_path / "out", Policy(), resolver=FakeDNS({})
        )
    assert caught.value.reason == "resolve_failed"


async def test_system_resolver_reads_numeric_hosts() -> None:
    assert await system_resolver("127.0.0.1", 80) == [LOOPBACK]


# --- redirects ------------------------------------------------------------------------------


async def test_a_redirect_to_an_untrusted_loopback_name_is_refused(
    server: _Server, other: _Server, tmp_path: Path
) -> None:
    dns = FakeDNS({"trusted.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    to = f"http://other.test:{port(other)}/ok"
    url = f"http://trusted.test:{port(server)}/redirect?to={to}"
    with pytest.raises(OutboundRefused) as caught:
        await download_to(url, tmp_path / "out", trusting("trusted.test"), resolver=dns)
    assert caught.value.reason == "loopback"
    assert caught.value.message.endswith(f"(reached through a redirect to {to})")
    assert server.seen == [f"/redirect?to={to}"]
    assert other.seen == []
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "location",
    ["http://127.0.0.1:{port}/ok", "http://localhost:{port}/ok", "file:///etc/passwd"],
)
async def test_redirects_to_refused_targets_are_refused(
    server: _Server, other: _Server, tmp_path: Path, location: str
) -> None:
    dns = FakeDNS({"trusted.test": ["127.0.0.1"]})
    to = location.format(port=port(other))
    url = f"http://trusted.test:{port(server)}/redirect?to={to}"
    with pytest.raises(OutboundRefused):
        await download_to(url, tmp_path / "out", trusting("trusted.test"), resolver=dns)
    assert other.seen == []


async def test_redirects_between_trusted_hosts_are_followed(
    server: _Server, other: _Server, tmp_path: Path
) -> None:
    dns = FakeDNS({"a.test": ["127.0.0.1"], "b.test": ["127.0.0.1"]})
    final = f"http://b.test:{port(other)}/ok"
    url = f"http://a.test:{port(server)}/redirect?status=307&to={final}"
    result = await download_to(url, tmp_path / "out", trusting("a.test", "b.test"), resolver=dns)
    assert result.final_url == final
    assert (tmp_path / "out").read_bytes() == b"hello"
    assert dns.asked == ["a.test", "b.test"]


async def test_too_many_redirects(server: _Server, tmp_path: Path) -> None:
    policy = Policy(allow_private=True, max_redirects=3)
    with pytest.raises(OutboundFailed) as caught:
        await download_to(f"http://127.0.0.1:{port(server)}/loop", tmp_path / "out", policy)
    assert caught.value.reason == "too_many_redirects"
    assert server.seen == ["/loop"] * 4


async def test_no_redirects_allowed(server: _Server, tmp_path: Path) -> None:
    policy = Policy(allow_private=True, max_redirects=0)
    with pytest.raises(OutboundFailed, match="more than 0 times"):
        await download_to(f"http://127.0.0.1:{port(server)}/loop", tmp_path / "out", policy)


# --- limits and failures --------------------------------------------------------------------


async def test_the_byte_cap_is_enforced_while_streaming(server: _Server, tmp_path: Path) -> None:
    target = tmp_path / "out"
    policy = Policy(allow_private=True, max_bytes=50_000)
    with pytest.raises(OutboundFailed) as caught:
        await download_to(f"http://127.0.0.1:{port(server)}/bytes?n=2000000", target, policy)
    assert caught.value.reason == "too_large"
    assert not target.exists()
    result = await download_to(f"http://127.0.0.1:{port(server)}/bytes?n=50000", target, policy)
    assert result.size == target.stat().st_size == 50_000


async def test_a_declared_length_over_the_cap_fails_before_reading(
    server: _Server, tmp_path: Path
) -> None:
    policy = Policy(allow_private=True, max_bytes=1000)
    with pytest.raises(OutboundFailed, match="larger than 1000 bytes"):
        await download_to(
            f"http://127.0.0.1:{port(server)}/declared?n=5000", tmp_path / "o", policy
        )


async def test_read_timeout(server: _Server, tmp_path: Path) -> None:
    policy = Policy(allow_private=True, read_timeout=0.2)
    started = time.monotonic()
    with pytest.raises(OutboundFailed) as caught:
        await download_to(f"http://127.0.0.1:{port(server)}/slow?s=1.5", tmp_path / "out", policy)
    assert caught.value.reason == "timeout"
    assert time.monotonic() - started < 1.2


async def test_total_timeout_covers_a_trickling_body(server: _Server, tmp_path: Path) -> None:
    policy = Policy(allow_private=True, read_timeout=1.0, total_timeout=0.4)
    with pytest.raises(OutboundFailed) as caught:
        await download_to(f"http://127.0.0.1:{port(server)}/trickle", tmp_path / "out", policy)
    assert caught.value.reason == "timeout"
    assert not (tmp_path / "out").exists()


async def test_error_statuses_fail(server: _Server, tmp_path: Path) -> None:
    policy = Policy(allow_private=True)
    with pytest.raises(OutboundFailed) as caught:
        await download_to(f"http://127.0.0.1:{port(server)}/missing", tmp_path / "out", policy)
    assert (caught.value.reason, caught.value.status) == ("http_status", 404)


async def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    with pytest.raises(OutboundFailed) as caught:
        await download_to(
            f"http://127.0.0.1:{closed}/", tmp_path / "out", Policy(allow_private=True)
        )
    assert caught.value.reason == "connect_failed"


# --- webhooks -------------------------------------------------------------------------------


async def test_post_json_sends_the_exact_bytes(server: _Server) -> None:
    body = b'{"type": "video.asset.ready",  "data": {}}'
    result = await post_json(
        f"http://127.0.0.1:{port(server)}/hook",
        body,
        {"Mux-Signature": "t=1,v1=ab"},
        Policy(allow_private=True),
        timeout=5,
    )
    assert result.status == 202
    assert result.headers["x-receiver"] == "test"
    echo = json.loads(result.body_excerpt)
    assert echo["body"] == body.decode()
    assert echo["headers"]["content-type"] == "application/json"
    assert echo["headers"]["mux-signature"] == "t=1,v1=ab"
    assert result.elapsed >= 0


async def test_post_json_keeps_only_an_excerpt(server: _Server) -> None:
    url = f"http://127.0.0.1:{port(server)}/hook"
    result = await post_json(url, b"{}", {}, Policy(allow_private=True), excerpt_bytes=10)
    assert len(result.body_excerpt) == 10


async def test_post_json_does_not_follow_redirects(server: _Server) -> None:
    url = f"http://127.0.0.1:{port(server)}/hook-redirect"
    result = await post_json(url, b"{}", {}, Policy(allow_private=True))
    assert result.status == 302
    assert server.seen == ["/hook-redirect"]


async def test_post_json_timeout(server: _Server) -> None:
    url = f"http://127.0.0.1:{port(server)}/hook-slow"
    with pytest.raises(OutboundFailed) as caught:
        await post_json(url, b"{}", {}, Policy(allow_private=True), timeout=0.3)
    assert caught.value.reason == "timeout"


async def test_post_json_is_guarded(server: _Server) -> None:
    with pytest.raises(OutboundRefused):
        await post_json(f"http://127.0.0.1:{port(server)}/hook", b"{}", {}, Policy())
    assert server.seen == []


# --- TLS: pinned address, verified name -----------------------------------------------------


def _certificate(name: str) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[_Server, ssl.SSLContext, list[str | None]]]:
    cert, key = _certificate("media.test")
    (tmp_path / "cert.pem").write_bytes(cert)
    (tmp_path / "key.pem").write_bytes(key)
    names: list[str | None] = []
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")

    def remember(_socket: ssl.SSLObject, name: str | None, _context: ssl.SSLContext) -> None:
        names.append(name)

    server_context.sni_callback = remember
    client_context = ssl.create_default_context(cadata=cert.decode())
    for server in _serve(server_context):
        yield server, client_context, names


async def test_tls_keeps_the_name_while_connecting_to_the_vetted_address(
    tls_server: tuple[_Server, ssl.SSLContext, list[str | None]], tmp_path: Path
) -> None:
    server, client_context, names = tls_server
    dns = FakeDNS({"media.test": ["127.0.0.1"]})
    result = await download_to(
        f"https://media.test:{port(server)}/ok",
        tmp_path / "out",
        trusting("media.test"),
        resolver=dns,
        ssl_context=client_context,
    )
    assert result.size == 5
    assert names == ["media.test"]  # SNI carried the name, and the certificate matched it


async def test_tls_certificates_are_still_verified(
    tls_server: tuple[_Server, ssl.SSLContext, list[str | None]], tmp_path: Path
) -> None:
    server, client_context, _ = tls_server
    dns = FakeDNS({"impostor.test": ["127.0.0.1"]})
    with pytest.raises(OutboundFailed) as caught:
        await download_to(
            f"https://impostor.test:{port(server)}/ok",
            tmp_path / "out",
            trusting("impostor.test"),
            resolver=dns,
            ssl_context=client_context,
        )
    assert caught.value.reason == "connect_failed"
