"""The address and host rules of the outbound guard: one row per form, no network."""

from __future__ import annotations

import ipaddress

import pytest

from reelhouse.errors import ConfigError
from reelhouse.outbound import (
    AllowList,
    OutboundFailed,
    OutboundRefused,
    Policy,
    address_allowed,
    check_addresses,
    check_host,
    check_url,
    classify,
    literal_address,
)
from reelhouse.outbound.addresses import PHRASES, embedded_ipv4

DEFAULT = Policy()

REFUSED = [
    # IPv4 special-purpose ranges
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "this_network"),
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("100.64.0.1", "shared"),
    ("100.127.255.254", "shared"),
    ("169.254.1.1", "link_local"),
    ("169.254.169.254", "metadata"),
    ("169.254.170.2", "metadata"),
    ("100.100.100.200", "metadata"),
    ("168.63.129.16", "metadata"),
    ("192.0.0.8", "reserved"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("198.19.255.255", "benchmarking"),
    ("192.88.99.1", "reserved"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    # IPv6 special-purpose ranges
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("fd00:ec2::254", "metadata"),
    ("fe80::1", "link_local"),
    ("fe80::1%eth0", "link_local"),
    ("fec0::1", "reserved"),
    ("ff02::1", "multicast"),
    ("ff0e::1", "multicast"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("2001:2::1", "benchmarking"),
    ("100::1", "reserved"),
    ("2001:10::1", "reserved"),
    ("5f00::1", "reserved"),
    ("1::1", "reserved"),
    ("::2:1", "this_network"),  # IPv4-compatible 0.2.0.1
    ("4000::1", "reserved"),
    # IPv6 forms that carry an IPv4 address, which is what gets judged
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.1.2.3", "private"),
    ("::ffff:169.254.169.254", "metadata"),
    ("::127.0.0.1", "loopback"),
    ("::10.0.0.1", "private"),
    ("::ffff:0:127.0.0.1", "loopback"),  # SIIT
    ("2002:7f00:0001::", "loopback"),  # 6to4
    ("2002:a9fe:a9fe::1", "metadata"),
    ("2002:c0a8:0101:5::1", "private"),
    ("64:ff9b::7f00:1", "loopback"),  # NAT64
    ("64:ff9b::a9fe:a9fe", "metadata"),
    ("64:ff9b::10.0.0.1", "private"),
    ("64:ff9b:1::7f00:1", "loopback"),  # local-use NAT64, /96 layout
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "documentation"),  # Teredo client 192.0.2.45
    ("2001:0:7f00:1::1", "loopback"),  # Teredo server 127.0.0.1
    ("2001:0:808:808::f5f5:f5f5", "private"),  # Teredo client ~f5f5f5f5 = 10.10.10.10
    ("2001:0:808:808::a2c7:d7dd", "transition"),  # Teredo, both embedded addresses public
    ("::5efe:127.0.0.1", "loopback"),  # ISATAP interface ids
    ("2600::5efe:a9fe:a9fe", "metadata"),
    ("2600::200:5efe:10.0.0.1", "private"),
    ("::5efe:93.184.216.34", "reserved"),  # ISATAP id with no global prefix
    ("::93.184.216.34", "transition"),  # IPv4-compatible is deprecated even when public
]

ALLOWED = [
    "93.184.216.34",
    "8.8.8.8",
    "1.1.1.1",
    "100.63.255.255",
    "100.128.0.1",
    "172.32.0.1",
    "198.20.0.1",
    "223.255.255.254",
    "2606:2800:220:1:248:1893:25c8:1946",
    "2a00:1450:4001:82b::200e",
    "::ffff:93.184.216.34",
    "64:ff9b::5db8:d822",  # NAT64 of a public address: DNS64 networks need it
    "2002:5db8:d822::1",  # 6to4 of a public address
    "2600::5efe:93.184.216.34",
]


@pytest.mark.parametrize(("text", "reason"), REFUSED)
def test_refused_addresses(text: str, reason: str) -> None:
    verdict = address_allowed(ipaddress.ip_address(text), DEFAULT)
    assert not verdict
    assert verdict.reason == reason
    assert PHRASES[reason] in verdict.describe()


@pytest.mark.parametrize("text", ALLOWED)
def test_allowed_addresses(text: str) -> None:
    verdict = address_allowed(ipaddress.ip_address(text), DEFAULT)
    assert verdict, verdict.describe()
    assert verdict.reason is None


def test_embedded_address_is_named_in_the_description() -> None:
    verdict = classify(ipaddress.ip_address("64:ff9b::a9fe:a9fe"))
    assert verdict.via == ipaddress.IPv4Address("169.254.169.254")
    assert verdict.describe() == (
        "64:ff9b::a9fe:a9fe, which embeds 169.254.169.254, a cloud metadata service address"
    )


def test_teredo_yields_server_and_client() -> None:
    found = embedded_ipv4(ipaddress.IPv6Address("2001:0:4136:e378:8000:63bf:3fff:fdd2"))
    assert [str(a) for a in found] == ["65.54.227.120", "192.0.2.45"]


def test_local_use_nat64_is_refused_whatever_its_layout() -> None:
    address = ipaddress.IPv6Address("64:ff9b:1:7f00:0:100::")  # /48 layout of 127.0.0.1
    assert ipaddress.IPv4Address("127.0.0.1") in embedded_ipv4(address)
    assert not classify(address)
    assert not classify(ipaddress.IPv6Address("64:ff9b:1::5db8:d822"))  # even of a public one


LITERALS = [
    ("127.0.0.1", "127.0.0.1"),
    ("2130706433", "127.0.0.1"),
    ("017700000001", "127.0.0.1"),
    ("0x7f000001", "127.0.0.1"),
    ("0X7F000001", "127.0.0.1"),
    ("0x7f.1", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"),
    ("127.0.1", "127.0.0.1"),
    ("0", "0.0.0.0"),
    ("0x5db8d822", "93.184.216.34"),
    ("127.0.0.1.", "127.0.0.1"),
    ("[::]", "::"),
    ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
    ("::1", "::1"),
]


@pytest.mark.parametrize(("host", "address"), LITERALS)
def test_literal_forms(host: str, address: str) -> None:
    assert literal_address(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize(
    "host", ["example.com", "cafe.face", "deadbeef", "1e100.net", "127.0.0.1 x", "0x7g.1", ""]
)
def test_names_are_not_literals(host: str) -> None:
    assert literal_address(host) is None


REFUSED_HOSTS = [
    ("localhost", "localhost"),
    ("LOCALHOST", "localhost"),
    ("localhost.", "localhost"),
    ("foo.localhost", "localhost"),
    ("a.b.localhost.", "localhost"),
    ("127.0.0.1", "loopback"),
    ("0x7f.1", "loopback"),
    ("2130706433", "loopback"),
    ("017700000001", "loopback"),
    ("0x7f000001", "loopback"),
    ("127.1", "loopback"),
    ("0.0.0.0", "unspecified"),
    ("0", "unspecified"),
    ("[::]", "unspecified"),
    ("[::1]", "loopback"),
    ("[::ffff:127.0.0.1]", "loopback"),
    ("169.254.169.254", "metadata"),
    ("0xa9fea9fe", "metadata"),
    ("[fd00:ec2::254]", "metadata"),
    ("100.100.100.200", "metadata"),
    ("100.64.0.1", "shared"),
    ("", "host"),
]


@pytest.mark.parametrize(("host", "reason"), REFUSED_HOSTS)
def test_refused_hosts(host: str, reason: str) -> None:
    with pytest.raises(OutboundRefused) as caught:
        check_host(host, DEFAULT)
    assert caught.value.reason == reason
    assert caught.value.code == "outbound_refused"


def test_refusal_messages_are_for_people() -> None:
    with pytest.raises(OutboundRefused) as caught:
        check_host("127.0.0.1", DEFAULT)
    assert caught.value.message == (
        "The URL's host is 127.0.0.1, a loopback address, which is not allowed."
    )
    with pytest.raises(OutboundRefused) as caught:
        check_host("0x7f.1", DEFAULT)
    assert caught.value.message == (
        "The URL's host 0x7f.1 is 127.0.0.1, a loopback address, which is not allowed."
    )
    with pytest.raises(OutboundRefused) as caught:
        check_addresses("evil.example", [ipaddress.ip_address("127.0.0.1")], DEFAULT)
    assert caught.value.message == (
        "The URL's host evil.example resolves to 127.0.0.1, a loopback address, which is not "
        "allowed."
    )


def test_names_and_public_literals_pass_check_host() -> None:
    assert check_host("example.com", DEFAULT) is None
    assert check_host("93.184.216.34", DEFAULT) == ipaddress.ip_address("93.184.216.34")
    assert check_host("0x5db8d822", DEFAULT) == ipaddress.ip_address("93.184.216.34")


def test_every_resolved_address_is_checked() -> None:
    public, private = ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.7")
    check_addresses("cdn.example.com", [public], DEFAULT)
    with pytest.raises(OutboundRefused) as caught:
        check_addresses("cdn.example.com", [public, private], DEFAULT)
    assert caught.value.reason == "private"
    with pytest.raises(OutboundFailed) as failed:
        check_addresses("cdn.example.com", [], DEFAULT)
    assert failed.value.reason == "resolve_failed"


def test_allow_list_parsing() -> None:
    allow = AllowList.parse(" hooks.internal, *.svc.cluster.local ,10.0.0.0/8,, fd00::/8,Media. ")
    assert allow.names == frozenset({"hooks.internal", "media"})
    assert allow.suffixes == ("svc.cluster.local",)
    assert [str(n) for n in allow.networks] == ["10.0.0.0/8", "fd00::/8"]
    assert allow.allows_name("HOOKS.internal.")
    assert allow.allows_name("api.svc.cluster.local")
    assert not allow.allows_name("svc.cluster.local.evil.example")
    assert not allow.allows_name("evilsvc.cluster.local")
    assert allow.allows_address(ipaddress.ip_address("10.9.8.7"))
    assert allow.allows_address(ipaddress.ip_address("::ffff:10.9.8.7"))
    assert not allow.allows_address(ipaddress.ip_address("11.0.0.1"))
    assert AllowList.parse("") == AllowList()


@pytest.mark.parametrize("setting", ["*.", "a/b", "x*y.example", "bad host"])
def test_allow_list_rejects_nonsense(setting: str) -> None:
    with pytest.raises(ConfigError):
        AllowList.parse(setting)


def test_operator_allow_list_bypasses_the_address_rules() -> None:
    policy = Policy(allow_hosts=AllowList.parse("hooks.internal,10.0.0.0/8,169.254.169.254"))
    assert address_allowed(ipaddress.ip_address("10.1.2.3"), policy)
    assert address_allowed(ipaddress.ip_address("169.254.169.254"), policy)
    assert not address_allowed(ipaddress.ip_address("192.168.1.1"), policy)
    check_addresses("hooks.internal", [ipaddress.ip_address("127.0.0.1")], policy)
    assert check_host("hooks.internal", policy) is None
    with pytest.raises(OutboundRefused):
        check_addresses("other.internal", [ipaddress.ip_address("127.0.0.1")], policy)
    trusted_localhost = Policy(allow_hosts=AllowList.parse("localhost"))
    assert check_host("localhost", trusted_localhost) is None


def test_allow_private_waives_only_private_reasons() -> None:
    policy = Policy(allow_private=True)
    for text in ["127.0.0.1", "10.0.0.1", "100.64.0.1", "169.254.1.1", "fd12::1", "::1"]:
        assert address_allowed(ipaddress.ip_address(text), policy), text
    assert address_allowed(ipaddress.ip_address("::ffff:192.168.0.1"), policy)
    for text in ["169.254.169.254", "fd00:ec2::254", "0.0.0.0", "224.0.0.1", "192.0.2.1", "::"]:
        assert not address_allowed(ipaddress.ip_address(text), policy), text


URLS = [
    ("file:///etc/passwd", "scheme"),
    ("gopher://example.com/", "scheme"),
    ("ftp://example.com/x", "scheme"),
    ("//example.com/x", "scheme"),
    ("http://example.com:0/", "port"),
    ("http://localhost:8080/", "localhost"),
    ("http://[::ffff:127.0.0.1]/", "loopback"),
    ("http://0x7f.1/", "loopback"),
    ("http://2130706433/", "loopback"),
    ("http://user@127.0.0.1/", "loopback"),
    ("http://example.com@169.254.169.254/", "metadata"),
    ("http://[::]:80/", "unspecified"),
    ("http:///path", "host"),
]


@pytest.mark.parametrize(("url", "reason"), URLS)
def test_refused_urls(url: str, reason: str) -> None:
    with pytest.raises(OutboundRefused) as caught:
        check_url(url, DEFAULT)
    assert caught.value.reason == reason


def test_https_only_policy() -> None:
    policy = Policy(schemes=frozenset({"https"}))
    check_url("https://example.com/a.mp4", policy)
    with pytest.raises(OutboundRefused, match="must be https"):
        check_url("http://example.com/a.mp4", policy)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"schemes": frozenset({"ftp"})},
        {"schemes": frozenset()},
        {"max_redirects": -1},
        {"max_bytes": -1},
        {"read_timeout": 0},
    ],
)
def test_policy_rejects_nonsense(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        Policy(**kwargs)  # type: ignore[arg-type]
