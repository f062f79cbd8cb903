"""Guarded outbound HTTP: the one way reelhouse talks to URLs that users give it.

Pinning: httpx's connection pool is given a network backend (``_PinnedBackend``) through which
every TCP connection is made. It receives the URL's host name, refuses local names and literals,
resolves the name itself, vets every address, and connects to a vetted *address*. httpcore still
holds the host name, so the Host header, TLS SNI and certificate verification are for the name
while the socket goes to the address we checked: a DNS answer that changes between the check and
the connect (rebinding) is never used. Redirects are followed here, one hop at a time, each hop
vetted the same way; environment proxies are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import ipaddress
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpcore
import httpx

from reelhouse.outbound.addresses import check_addresses, check_host
from reelhouse.outbound.errors import OutboundFailed, OutboundRefused
from reelhouse.outbound.policy import IPAddress, Policy

USER_AGENT = "reelhouse"


class Resolver(Protocol):
    """Turns a host name into the addresses to try, in order. Raises ``OutboundFailed``
    (``resolve_failed``) when the name does not resolve. Tests pass their own to simulate DNS."""

    async def __call__(self, host: str, port: int) -> Sequence[IPAddress]: ...


async def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The operating system's ``getaddrinfo``: every address, duplicates dropped, order kept."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise OutboundFailed("resolve_failed", f"The URL's host {host} does not resolve.") from exc
    found: dict[IPAddress, None] = {}
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            found[ipaddress.ip_address(sockaddr[0])] = None
    return list(found)


class _PinnedBackend(httpcore.AsyncNetworkBackend):
    """Connects only to addresses the policy allows: resolve, vet, then connect to the address."""

    def __init__(self, policy: Policy, resolver: Resolver) -> None:
        self._policy = policy
        self._resolver = resolver
        self._inner = httpcore.AnyIOBackend()

    async def _addresses(self, host: str, port: int, timeout: float | None) -> Sequence[IPAddress]:
        literal = check_host(host, self._policy)
        if literal is not None:
            return [literal]
        try:
            async with asyncio.timeout(timeout):
                addresses = await self._resolver(host, port)
        except TimeoutError as exc:
            message = f"Resolving the URL's host {host} took longer than {timeout:g} seconds."
            raise OutboundFailed("timeout", message) from exc
        check_addresses(host, addresses, self._policy)
        if not addresses:
            raise OutboundFailed("resolve_failed", f"The URL's host {host} has no addresses.")
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failure: Exception | None = None
        for address in await self._addresses(host, port, timeout):
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # _addresses never returns an empty list
        raise failure

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """An httpx transport whose every connection is resolved, vetted and pinned by the guard.

    It guards connections only; redirect, size and total-time limits are applied by
    ``download_to`` and ``post_json``. HTTP/1.1, no retries, no proxies.
    """

    def __init__(
        self,
        policy: Policy,
        *,
        resolver: Resolver = system_resolver,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        context = ssl_context or httpx.create_ssl_context(trust_env=False)
        super().__init__(verify=context, trust_env=False)
        # httpx offers no public way to give its pool a network backend, so the pool it built
        # is replaced with one that has ours (tests prove a refused address is never reached).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=context,
            max_connections=10,
            max_keepalive_connections=5,
            keepalive_expiry=5.0,
            network_backend=_PinnedBackend(policy, resolver),
        )


@dataclass(frozen=True)
class DownloadResult:
    """What ``download_to`` saved: ``size`` bytes, the final response's Content-Type, and the URL
    the bytes came from after redirects."""

    size: int
    content_type: str | None
    final_url: str


@dataclass(frozen=True)
class PostResult:
    """A webhook endpoint's answer: status, headers (lower-case names), at most the first
    ``excerpt_bytes`` of the body, and seconds from sending to the excerpt being read."""

    status: int
    headers: Mapping[str, str]
    body_excerpt: bytes
    elapsed: float


def check_url(url: str | httpx.URL, policy: Policy) -> httpx.URL:
    """Parse ``url`` and vet its scheme, port and host (literal addresses included) without any
    network access. Raises ``OutboundRefused``."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise OutboundRefused("url", f"The URL is not valid: {exc}.") from exc
    if parsed.scheme not in policy.schemes:
        allowed = " or ".join(sorted(policy.schemes))
        raise OutboundRefused("scheme", f"The URL's scheme must be {allowed}.")
    if parsed.port == 0:
        raise OutboundRefused("port", "The URL's port 0 is not allowed.")
    check_host(parsed.host, policy)
    return parsed


@contextlib.contextmanager
def _edge(policy: Policy) -> Iterator[None]:
    """Turn httpx's and asyncio's failures into ``OutboundFailed``, the original chained."""
    try:
        yield
    except TimeoutError as exc:
        message = f"The request did not finish within {policy.total_timeout:g} seconds."
        raise OutboundFailed("timeout", message) from exc
    except httpx.TimeoutException as exc:
        raise OutboundFailed("timeout", f"The server was too slow to answer: {exc!r}.") from exc
    except httpx.ConnectError as exc:
        raise OutboundFailed("connect_failed", f"Could not connect to the URL: {exc}.") from exc
    except httpx.RequestError as exc:
        raise OutboundFailed("transport_error", f"The request failed: {exc!r}.") from exc


@contextlib.asynccontextmanager
async def _client(
    policy: Policy, resolver: Resolver, ssl_context: ssl.SSLContext | None
) -> AsyncIterator[httpx.AsyncClient]:
    transport = GuardedTransport(policy, resolver=resolver, ssl_context=ssl_context)
    timeout = httpx.Timeout(
        connect=policy.connect_timeout,
        read=policy.read_timeout,
        write=policy.read_timeout,
        pool=policy.connect_timeout,
    )
    async with httpx.AsyncClient(
        transport=transport,
        timeout=timeout,
        trust_env=False,
        follow_redirects=False,
        headers={"user-agent": USER_AGENT},
    ) as client:
        yield client


async def _send(
    client: httpx.AsyncClient, request: httpx.Request, policy: Policy, *, follow: bool
) -> httpx.Response:
    """Send ``request`` and return the streaming response (the caller closes it), following
    redirects one vetted hop at a time when ``follow``."""
    hops = 0
    while True:
        try:
            if hops:
                check_url(request.url, policy)
            response = await client.send(request, stream=True)
        except OutboundRefused as exc:
            if not hops:
                raise
            note = f" (reached through a redirect to {request.url})"
            raise OutboundRefused(exc.reason, exc.message + note) from exc
        if not (follow and response.has_redirect_location and response.next_request):
            return response
        await response.aclose()
        if hops == policy.max_redirects:
            message = f"The URL redirected more than {policy.max_redirects} times."
            raise OutboundFailed("too_many_redirects", message, status=response.status_code)
        hops += 1
        request = response.next_request


async def _save(response: httpx.Response, path: Path, policy: Policy) -> int:
    if not response.is_success:
        message = f"The URL answered HTTP {response.status_code}."
        raise OutboundFailed("http_status", message, status=response.status_code)
    too_large = f"The URL's content is larger than {policy.max_bytes} bytes."
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise OutboundFailed("too_large", too_large, status=response.status_code)
    size = 0
    with path.open("wb", buffering=0) as file:
        async for chunk in response.aiter_bytes():
            size += len(chunk)
            if size > policy.max_bytes:
                raise OutboundFailed("too_large", too_large, status=response.status_code)
            await asyncio.to_thread(file.write, chunk)
    return size


async def download_to(
    url: str,
    path: Path,
    policy: Policy,
    *,
    headers: Mapping[str, str] | None = None,
    resolver: Resolver = system_resolver,
    ssl_context: ssl.SSLContext | None = None,
) -> DownloadResult:
    """GET ``url`` under ``policy`` and stream its body into ``path`` (created or truncated).

    Follows up to ``policy.max_redirects`` redirects, each hop vetted. Raises ``OutboundRefused``
    before contacting a refused host, ``OutboundFailed`` on a non-2xx final answer, more than
    ``policy.max_bytes`` bytes, a timeout or a network failure; ``path`` is removed on failure.
    """
    saved = False
    try:
        with _edge(policy):
            async with (
                asyncio.timeout(policy.total_timeout),
                _client(policy, resolver, ssl_context) as client,
            ):
                request = client.build_request(
                    "GET",
                    check_url(url, policy),
                    headers={"accept-encoding": "identity", **(headers or {})},
                )
                response = await _send(client, request, policy, follow=True)
                try:
                    size = await _save(response, path, policy)
                finally:
                    await response.aclose()
        saved = True
        return DownloadResult(size, response.headers.get("content-type"), str(response.url))
    finally:
        if not saved:
            path.unlink(missing_ok=True)


async def post_json(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    policy: Policy,
    timeout: float | None = None,
    *,
    excerpt_bytes: int = 1024,
    resolver: Resolver = system_resolver,
    ssl_context: ssl.SSLContext | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> PostResult:
    """POST the JSON ``body`` (bytes, sent as given so signatures over them hold) to ``url``.

    Redirects are not followed: a 3xx comes back as the result, as webhook receivers are expected
    to answer 2xx. ``timeout``, when given, replaces ``policy.total_timeout``. Any status is a
    result; ``OutboundRefused``/``OutboundFailed`` are raised as for ``download_to``.
    """
    if timeout is not None:
        policy = dataclasses.replace(policy, total_timeout=timeout)
    merged = httpx.Headers({"content-type": "application/json"})
    merged.update(headers)
    with _edge(policy):
        async with (
            asyncio.timeout(policy.total_timeout),
            _client(policy, resolver, ssl_context) as client,
        ):
            request = client.build_request(
                "POST", check_url(url, policy), headers=merged, content=body
            )
            started = clock()
            response = await _send(client, request, policy, follow=False)
            try:
                excerpt = b""
                async for chunk in response.aiter_bytes():
                    excerpt += chunk
                    if len(excerpt) >= excerpt_bytes:
                        break
            finally:
                await response.aclose()
            elapsed = clock() - started
    return PostResult(
        response.status_code, dict(response.headers.items()), excerpt[:excerpt_bytes], elapsed
    )
