"""What outbound requests may do: the ``Policy`` value every guarded request is made under.

A policy is plain data built once by a composition root from settings and passed down; nothing in
this package reads the environment.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from reelhouse.errors import ConfigError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_GIB = 1 << 30


def normalise_host(host: str) -> str:
    """``host`` as compared everywhere: lower case, without IPv6 brackets or a final dot."""
    return host.strip().strip("[]").rstrip(".").lower()


@dataclass(frozen=True)
class AllowList:
    """Hosts the operator trusts: requests to them skip the address checks.

    ``names`` match a host name exactly, ``suffixes`` match any name ending in ``.suffix`` (written
    ``*.suffix`` in the setting), ``networks`` match any address they contain, resolved or literal.
    """

    names: frozenset[str] = frozenset()
    suffixes: tuple[str, ...] = ()
    networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def parse(cls, setting: str) -> AllowList:
        """Read a comma-separated setting such as ``hooks.internal,*.svc.local,10.0.0.0/8``.

        Raises ``ConfigError`` naming the first entry that is neither a network nor a host name.
        """
        names: set[str] = set()
        suffixes: list[str] = []
        networks: list[IPNetwork] = []
        for raw in setting.split(","):
            entry = normalise_host(raw)
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            name = entry.removeprefix("*.")
            if not name or "/" in name or "*" in name or " " in name:
                raise ConfigError(
                    f"Outbound allow-list entry {raw.strip()!r} is not a host or CIDR"
                )
            if entry.startswith("*."):
                suffixes.append(name)
            else:
                names.add(name)
        return cls(frozenset(names), tuple(suffixes), tuple(networks))

    def allows_name(self, host: str) -> bool:
        """Whether the host name ``host`` is trusted by name."""
        host = normalise_host(host)
        return host in self.names or any(host.endswith("." + s) for s in self.suffixes)

    def allows_address(self, address: IPAddress) -> bool:
        """Whether ``address`` (or the IPv4 address an IPv4-mapped one stands for) is trusted."""
        candidates: list[IPAddress] = [address]
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            candidates.append(address.ipv4_mapped)
        return any(a in n for a in candidates for n in self.networks if a.version == n.version)


@dataclass(frozen=True)
class Policy:
    """The rules and limits of one kind of outbound request.

    - ``schemes``: URL schemes allowed (a subset of http and https).
    - ``allow_hosts``: operator-trusted names and networks, exempt from the address checks (never
      from the scheme and port checks).
    - ``allow_private``: also allow loopback, private, unique-local, carrier-grade-NAT and
      link-local addresses. Cloud metadata, multicast, unspecified, reserved and documentation
      addresses stay refused; only ``allow_hosts`` opens those.
    - ``max_redirects``: redirects followed before failing with ``too_many_redirects``.
    - ``max_bytes``: response body bytes (after content decoding) before failing ``too_large``.
    - ``connect_timeout``: seconds for resolution plus one TCP (and TLS) connect.
    - ``read_timeout``: seconds a read may wait for the next byte (idle time, not total).
    - ``total_timeout``: seconds for the whole exchange, redirects and body included.

    Every port from 1 to 65535 is allowed: the address rules are what keep requests off internal
    services, and customers' endpoints listen on arbitrary ports.
    """

    schemes: frozenset[str] = frozenset({"http", "https"})
    allow_hosts: AllowList = field(default_factory=AllowList)
    allow_private: bool = False
    max_redirects: int = 5
    max_bytes: int = 20 * _GIB
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    total_timeout: float = 3600.0

    def __post_init__(self) -> None:
        if not self.schemes or not self.schemes <= {"http", "https"}:
            raise ConfigError(f"Outbound schemes must be http and/or https, not {self.schemes}")
        if self.max_redirects < 0 or self.max_bytes < 0:
            raise ConfigError("Outbound max_redirects and max_bytes must not be negative")
        if min(self.connect_timeout, self.read_timeout, self.total_timeout) <= 0:
            raise ConfigError("Outbound timeouts must be positive")
