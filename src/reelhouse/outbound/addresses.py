"""Which addresses and host names outbound requests may reach: pure functions, no I/O.

The rules are our own tables of the IANA special-purpose registries, not ``ipaddress``'s
``is_global``/``is_private`` flags: those changed between patch releases (CVE-2024-4032) and,
on the versions we run, call ``64:ff9b::7f00:1`` (NAT64 of 127.0.0.1), ``2002:7f00:1::``
(6to4 of 127.0.0.1) and ``::127.0.0.1`` global. IPv6 forms that carry an IPv4 address are
unwrapped and the IPv4 address is judged by the same rules; beyond that, IPv6 is allowed only in
global unicast ``2000::/3`` and the well-known NAT64 prefix ``64:ff9b::/96``.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from reelhouse.outbound.errors import OutboundFailed, OutboundRefused
from reelhouse.outbound.policy import IPAddress, Policy, normalise_host

IPv4 = ipaddress.IPv4Address
IPv6 = ipaddress.IPv6Address

PHRASES: Final[dict[str, str]] = {
    "unspecified": "the unspecified address",
    "broadcast": "the broadcast address",
    "metadata": "a cloud metadata service address",
    "this_network": "a 'this network' (0.0.0.0/8) address",
    "loopback": "a loopback address",
    "private": "a private-network address",
    "shared": "a carrier-grade NAT (shared) address",
    "link_local": "a link-local address",
    "documentation": "a documentation address",
    "benchmarking": "a benchmarking address",
    "multicast": "a multicast address",
    "reserved": "a reserved or special-purpose address",
    "transition": "an IPv6 transition address (Teredo, IPv4-compatible, SIIT or local NAT64)",
}
"""Every refusal reason ``classify`` gives, with the words used for it in messages."""

PRIVATE_REASONS: Final = frozenset({"loopback", "private", "shared", "link_local"})
"""The reasons ``Policy.allow_private`` waives."""


def _table(*rows: tuple[str, str]) -> tuple[tuple[ipaddress.IPv4Network, str], ...]:
    return tuple((ipaddress.IPv4Network(net), reason) for net, reason in rows)


def _table6(*rows: tuple[str, str]) -> tuple[tuple[ipaddress.IPv6Network, str], ...]:
    return tuple((ipaddress.IPv6Network(net), reason) for net, reason in rows)


# First match wins, so single addresses come before the ranges that hold them.
_V4: Final = _table(
    ("0.0.0.0/32", "unspecified"),
    ("255.255.255.255/32", "broadcast"),
    ("169.254.169.254/32", "metadata"),  # AWS, GCP, Azure, OpenStack, DigitalOcean, Oracle
    ("169.254.170.2/32", "metadata"),  # AWS ECS task credentials
    ("100.100.100.200/32", "metadata"),  # Alibaba Cloud
    ("168.63.129.16/32", "metadata"),  # Azure WireServer: a public address, internal service
    ("192.0.0.192/32", "metadata"),  # Oracle Cloud (older instances)
    ("0.0.0.0/8", "this_network"),
    ("10.0.0.0/8", "private"),
    ("100.64.0.0/10", "shared"),
    ("127.0.0.0/8", "loopback"),
    ("169.254.0.0/16", "link_local"),
    ("172.16.0.0/12", "private"),
    ("192.0.0.0/24", "reserved"),  # IETF protocol assignments
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "reserved"),  # deprecated 6to4 relay anycast
    ("192.168.0.0/16", "private"),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),
)

_V6: Final = _table6(
    ("::/128", "unspecified"),
    ("::1/128", "loopback"),
    ("fd00:ec2::254/128", "metadata"),  # AWS instance metadata over IPv6
    ("::ffff:0:0:0/96", "transition"),  # SIIT IPv4-translated
    ("::/96", "transition"),  # deprecated IPv4-compatible
    ("64:ff9b:1::/48", "transition"),  # local-use NAT64: always inside someone's network
    ("100::/64", "reserved"),  # discard-only
    ("2001::/32", "transition"),  # Teredo
    ("2001:2::/48", "benchmarking"),
    ("2001:db8::/32", "documentation"),
    ("2001::/23", "reserved"),  # IETF protocol assignments
    ("3fff::/20", "documentation"),
    ("5f00::/16", "reserved"),  # SRv6 SIDs
    ("fc00::/7", "private"),  # unique local
    ("fe80::/10", "link_local"),
    ("fec0::/10", "reserved"),  # deprecated site-local
    ("ff00::/8", "multicast"),
)

_GLOBAL_V6: Final = (ipaddress.IPv6Network("2000::/3"), ipaddress.IPv6Network("64:ff9b::/96"))
_NAT64: Final = ipaddress.IPv6Network("64:ff9b::/96")
_LOCAL_NAT64: Final = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_IN_LOW_BITS: Final = (
    ipaddress.IPv6Network("::/96"),
    ipaddress.IPv6Network("::ffff:0:0:0/96"),
)
_ISATAP_MASK: Final = 0xFCFF_FFFF  # ignores the universal/local and group bits of 00-00-5E-FE
_ISATAP_ID: Final = 0x0000_5EFE


@dataclass(frozen=True)
class Verdict:
    """The judgement on one address. Truthy when allowed.

    ``reason`` is a key of ``PHRASES`` when refused, ``None`` when allowed; ``via`` is the IPv4
    address embedded in ``address`` that the reason applies to, when it came from unwrapping.
    """

    address: IPAddress
    reason: str | None = None
    via: IPv4 | None = None

    def __bool__(self) -> bool:
        return self.reason is None

    def describe(self) -> str:
        """E.g. ``::ffff:127.0.0.1, which embeds 127.0.0.1, a loopback address``."""
        phrase = PHRASES.get(self.reason or "", "an allowed address")
        if self.via is None:
            return f"{self.address}, {phrase}"
        return f"{self.address}, which embeds {self.via}, {phrase}"


def _lookup(address: IPAddress) -> str | None:
    table = _V4 if isinstance(address, IPv4) else _V6
    for network, reason in table:
        if address in network:
            return reason
    return None


def _rfc6052(value: int, prefix_len: int) -> IPv4:
    """The IPv4 address in an RFC 6052 IPv4-embedded IPv6 address with a ``prefix_len`` prefix
    (bits 64-71 are the reserved "u" octet and carry nothing)."""
    bits = format(value, "0128b")
    payload = bits[96:] if prefix_len == 96 else (bits[prefix_len:64] + bits[72:])[:32]
    return IPv4(int(payload, 2))


def embedded_ipv4(address: IPv6) -> list[IPv4]:
    """Every IPv4 address that ``address`` carries in a form some router or host unwraps:
    IPv4-mapped, IPv4-compatible, SIIT, NAT64 (well-known and local-use), 6to4, Teredo (server
    and client) and ISATAP interface ids."""
    value = int(address)
    found: list[IPv4] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if any(address in n for n in _IPV4_IN_LOW_BITS) or address in _NAT64:
        found.append(IPv4(value & 0xFFFF_FFFF))
    if address in _LOCAL_NAT64:
        found.extend(_rfc6052(value, length) for length in (96, 64, 56, 48))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if (value >> 32) & _ISATAP_MASK == _ISATAP_ID:
        found.append(IPv4(value & 0xFFFF_FFFF))
    return found


def classify(address: IPAddress) -> Verdict:
    """Judge ``address`` by the fixed rules alone (no policy): refused with a reason, or allowed."""
    if isinstance(address, IPv4):
        return Verdict(address, _lookup(address))
    address = IPv6(int(address))  # drop any %scope: it changes nothing about where it goes
    if address.ipv4_mapped is not None:
        inner = classify(address.ipv4_mapped)
        return Verdict(address, inner.reason, address.ipv4_mapped if inner.reason else None)
    if (exact := _lookup(address)) in {"unspecified", "loopback", "metadata"}:
        return Verdict(address, exact)
    for inner_address in embedded_ipv4(address):
        if reason := _lookup(inner_address):
            return Verdict(address, reason, inner_address)
    if exact is not None:
        return Verdict(address, exact)
    if any(address in n for n in _GLOBAL_V6):
        return Verdict(address)
    return Verdict(address, "reserved")


def address_allowed(address: IPAddress, policy: Policy) -> Verdict:
    """Judge ``address`` under ``policy``: operator-trusted networks pass, ``allow_private``
    waives the ``PRIVATE_REASONS``, everything else is ``classify``'s verdict."""
    if policy.allow_hosts.allows_address(address):
        return Verdict(address)
    verdict = classify(address)
    if not verdict and policy.allow_private and verdict.reason in PRIVATE_REASONS:
        return Verdict(address)
    return verdict


_NUMERIC_HOST: Final = re.compile(r"[0-9a-fx.]+")


def literal_address(host: str) -> IPAddress | None:
    """The address ``host`` denotes without DNS, or ``None`` for a name.

    Besides standard notation this accepts every IPv4 spelling ``inet_aton`` (and so the system
    resolver) accepts: ``2130706433``, ``017700000001``, ``0x7f000001``, ``0x7f.1``, ``127.1``.
    """
    host = normalise_host(host)
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if not _NUMERIC_HOST.fullmatch(host):  # inet_aton ignores text after a space; names too
        return None
    try:
        return IPv4(socket.inet_aton(host))
    except OSError:
        return None


def _refused(host: str, verb: str, verdict: Verdict) -> OutboundRefused:
    subject = "The URL's host" if host == str(verdict.address) else f"The URL's host {host}"
    message = f"{subject} {verb} {verdict.describe()}, which is not allowed."
    return OutboundRefused(verdict.reason or "address", message)


def check_host(host: str, policy: Policy) -> IPAddress | None:
    """Vet a URL's host before any lookup: refuse names of the local machine and refused
    literal addresses. Returns the literal address (the one to connect to), or ``None`` when the
    host is a name that must be resolved and then passed to ``check_addresses``."""
    name = normalise_host(host)
    if not name:
        raise OutboundRefused("host", "The URL has no host.")
    literal = literal_address(name)
    if policy.allow_hosts.allows_name(name):
        return literal
    if name == "localhost" or name.endswith(".localhost"):
        raise OutboundRefused(
            "localhost", f"The URL's host {name} names the local machine, which is not allowed."
        )
    if literal is not None and not (verdict := address_allowed(literal, policy)):
        raise _refused(name, "is", verdict)
    return literal


def check_addresses(host: str, addresses: Sequence[IPAddress], policy: Policy) -> None:
    """Vet every address ``host`` resolved to; one refused address refuses the host, since a
    rebinding resolver chooses which one a later lookup puts first."""
    name = normalise_host(host)
    if policy.allow_hosts.allows_name(name):
        return
    if not addresses:
        raise OutboundFailed("resolve_failed", f"The URL's host {name} has no addresses.")
    for address in addresses:
        if not (verdict := address_allowed(address, policy)):
            raise _refused(name, "resolves to", verdict)
