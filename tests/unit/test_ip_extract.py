from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

import pytest

from src.database.ipkeys import ip_key, network_keys
from src.services.ip_extract import extract_addresses


def found(text: str, *, limit: int = 50) -> list[str]:
    return [str(t) for t in extract_addresses(text, limit=limit)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("server 10.0.0.1 is down", ["10.0.0.1"]),
        ("10.0.0.1", ["10.0.0.1"]),
        ("web on 10.0.0.1:8080 fails", ["10.0.0.1"]),
        ("hosts 10.0.0.1, 10.0.0.2; and 10.0.0.3.", ["10.0.0.1", "10.0.0.2", "10.0.0.3"]),
        ("(10.0.0.1) [10.0.0.2] '10.0.0.3' \"10.0.0.4\"", [f"10.0.0.{i}" for i in (1, 2, 3, 4)]),
        ("ip:10.0.0.9 ip=10.0.0.8 host-10.0.0.7", ["10.0.0.9", "10.0.0.8", "10.0.0.7"]),
        ("is it 10.0.0.1?", ["10.0.0.1"]),
        ("see http://10.1.1.1/admin/", ["10.1.1.1"]),
        ("see http://10.1.1.1/24/x", ["10.1.1.1"]),
        ("line1\n192.168.1.1\tline2", ["192.168.1.1"]),
        ("255.255.255.255 and 0.0.0.0", ["255.255.255.255", "0.0.0.0"]),
    ],
)
def test_ipv4_addresses(text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("subnet 192.168.1.0/24 unreachable", ["192.168.1.0/24"]),
        ("route 10.0.0.0/8.", ["10.0.0.0/8"]),
        ("host bits 10.0.0.5/24 normalised", ["10.0.0.0/24"]),
        ("single 1.1.1.1/32", ["1.1.1.1/32"]),
        ("default 0.0.0.0/0", ["0.0.0.0/0"]),
        ("bad prefix 10.0.0.1/33", []),
        ("v6 range 2001:db8::/32 down", ["2001:db8::/32"]),
        ("v6 host bits 2001:db8::1/64", ["2001:db8::/64"]),
        ("default v6 ::/0", ["::/0"]),
    ],
)
def test_cidr_ranges(text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("link-local fe80::1 down", ["fe80::1"]),
        ("loopback ::1", ["::1"]),
        ("full 2001:0db8:0000:0000:0000:ff00:0042:8329", ["2001:db8::ff00:42:8329"]),
        ("upper FE80::ABCD", ["fe80::abcd"]),
        ("bracketed [2001:db8::2]:443", ["2001:db8::2"]),
        ("zone fe80::1%eth0 dropped", ["fe80::1"]),
        ("sentence ends with fe80::2: then", ["fe80::2"]),
        ("mapped ::ffff:10.0.0.1", [str(ip_address("::ffff:10.0.0.1"))]),
        ("eight groups 1:2:3:4:5:6:7:8", ["1:2:3:4:5:6:7:8"]),
    ],
)
def test_ipv6_addresses(text: str, expected: list[str]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "999.1.1.1",
        "256.0.0.1",
        "version 1.2.3",
        "v1.2.3.4",
        "v1.2.3.4.5",
        "1.2.3.4.5",
        "10.0.0.1234",
        "1234.0.0.1",
        "010.1.1.1",
        "build 10.0.19041.1",
        "meeting at 10:30:00",
        "mac 00:1a:2b:3c:4d:5e",
        "std::vector and Foo::Bar",
        "Note :: nothing",
        "1:2:3:4:5:6:7:8:9",
        "abc10.0.0.1",
        "10.0.0.1abc",
        "10.0.0.1_x",
        "2024-01-05T10:30:00Z",
        "",
    ],
)
def test_junk_is_ignored(text: str) -> None:
    assert found(text) == []


def test_mixed_text_keeps_order_and_types() -> None:
    targets = extract_addresses("fe80::1 then 10.0.0.1 in 10.0.0.0/24 and 2001:db8::/32")
    assert [type(t).__name__ for t in targets] == [
        "IPv6Address",
        "IPv4Address",
        "IPv4Network",
        "IPv6Network",
    ]


def test_duplicates_are_dropped_in_order() -> None:
    text = "10.0.0.2 10.0.0.1 10.0.0.2 FE80::1 fe80::1 10.0.0.5/24 10.0.0.9/24"
    assert found(text) == ["10.0.0.2", "10.0.0.1", "fe80::1", "10.0.0.0/24"]


def test_limit_caps_results() -> None:
    text = " ".join(f"10.0.{i // 250}.{i % 250}" for i in range(100))
    assert len(found(text)) == 50
    assert found(text, limit=3) == ["10.0.0.0", "10.0.0.1", "10.0.0.2"]
    assert found(text, limit=0) == []


def test_long_junk_text_is_fast() -> None:
    assert found(":" * 10_000 + "1." * 10_000 + "a:" * 10_000) == []


def test_ip_keys_are_fixed_width_and_sort_numerically() -> None:
    addresses = ["9.0.0.0", "10.0.0.0", "10.0.0.255", "255.255.255.255"]
    keys = [ip_key(a) for a in addresses]
    assert all(len(k) == 33 for k in keys)
    assert keys == sorted(keys)
    assert ip_key("10.0.0.1") == "4" + "0" * 24 + "0a000001"
    assert ip_key(IPv6Address("::1")) == "6" + "0" * 31 + "1"
    assert ip_key(IPv4Address("0.0.0.1")) < ip_key("::")


def test_network_keys_cover_the_range() -> None:
    start, end, prefix = network_keys("10.1.2.3/24")
    assert (start, end, prefix) == (ip_key("10.1.2.0"), ip_key("10.1.2.255"), 24)
    assert network_keys(ip_network("2001:db8::/32"))[1] == "6" + "20010db8" + "f" * 24
    with pytest.raises(ValueError):
        network_keys("10.0.0.0/33")
