from __future__ import annotations

from collections.abc import AsyncIterator
from ipaddress import ip_address, ip_network
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from src.context import IPLookupResult
from src.database.ipkeys import ip_key, network_keys
from src.database.models import Asset, Network
from src.database.repositories.inventory import MAX_MATCHES_PER_RANGE, Target, lookup_ips
from src.database.session import SessionFactory, make_engine, make_session_factory, transaction
from tests.conftest import make_settings

ASSETS = [
    ("acme", "web-01", "10.1.2.10"),
    ("acme", "db-01", "10.1.2.20"),
    ("acme", "far-01", "10.9.0.1"),
    ("acme", "v6-host", "2001:db8:1::10"),
    ("globex", "web-01-other", "10.1.2.10"),
]
NETWORKS = [
    ("acme", "10.0.0.0/8", "Corporate"),
    ("acme", "10.1.0.0/16", "Site A"),
    ("acme", "10.1.2.0/24", "Servers"),
    ("acme", "192.168.0.0/16", "Guest"),
    ("acme", "2001:db8::/32", "Lab v6"),
    ("acme", "2001:db8:1::/48", "Lab v6 servers"),
    ("globex", "10.1.2.0/24", "Other tenant"),
]


def asset(tenant_id: str, hostname: str, ip: str) -> Asset:
    return Asset(
        tenant_id=tenant_id,
        hostname=hostname,
        ip=ip,
        ip_key=ip_key(ip),
        asset_type="server",
        owner="ops",
        location="DC1",
        criticality="high",
    )


def network(tenant_id: str, cidr: str, name: str) -> Network:
    start, end, prefix = network_keys(cidr)
    return Network(
        tenant_id=tenant_id,
        cidr=cidr,
        start_key=start,
        end_key=end,
        prefix_len=prefix,
        name=name,
        site="HQ",
        vlan="12",
        owner="net",
    )


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
async def factory(db_url: str, tmp_path: Path) -> AsyncIterator[SessionFactory]:
    engine = make_engine(make_settings(tmp_path, database_url=db_url))
    factory = make_session_factory(engine)
    async with transaction(factory) as session:
        session.add_all([asset(*row) for row in ASSETS])
        session.add_all([network(*row) for row in NETWORKS])
    yield factory
    await engine.dispose()


async def lookup(factory: SessionFactory, *targets: str, tenant_id: str = "acme") -> IPLookupResult:
    """The lookup through an ORM session and through a bare connection (the worker's way)."""
    parsed: list[Target] = [ip_network(t) if "/" in t else ip_address(t) for t in targets]
    async with factory() as session:
        through_session = await lookup_ips(session, tenant_id=tenant_id, targets=parsed)
        engine = session.bind
        assert isinstance(engine, AsyncEngine)
        async with engine.connect() as conn:
            through_connection = await lookup_ips(conn, tenant_id=tenant_id, targets=parsed)
    assert through_connection == through_session
    return through_session


async def test_address_matches_asset_and_containing_networks_most_specific_first(
    factory: SessionFactory,
) -> None:
    result = await lookup(factory, "10.1.2.10")
    assert result.addresses == ("10.1.2.10",)
    [match] = result.assets
    assert (match.ip, match.hostname, match.asset_type, match.criticality) == (
        "10.1.2.10",
        "web-01",
        "server",
        "high",
    )
    assert [(n.ip, n.cidr, n.name) for n in result.networks] == [
        ("10.1.2.10", "10.1.2.0/24", "Servers"),
        ("10.1.2.10", "10.1.0.0/16", "Site A"),
        ("10.1.2.10", "10.0.0.0/8", "Corporate"),
    ]


async def test_unknown_address_is_reported_without_matches(factory: SessionFactory) -> None:
    result = await lookup(factory, "172.16.0.1")
    assert result == IPLookupResult(addresses=("172.16.0.1",))


async def test_several_addresses_keep_target_order(factory: SessionFactory) -> None:
    result = await lookup(factory, "192.168.5.5", "10.9.0.1", "10.1.2.20", "10.9.0.1")
    assert result.addresses == ("192.168.5.5", "10.9.0.1", "10.1.2.20")
    assert [a.hostname for a in result.assets] == ["far-01", "db-01"]
    assert [(n.ip, n.name) for n in result.networks] == [
        ("192.168.5.5", "Guest"),
        ("10.9.0.1", "Corporate"),
        ("10.1.2.20", "Servers"),
        ("10.1.2.20", "Site A"),
        ("10.1.2.20", "Corporate"),
    ]


async def test_lookup_is_per_tenant(factory: SessionFactory) -> None:
    result = await lookup(factory, "10.1.2.10", tenant_id="globex")
    assert [a.hostname for a in result.assets] == ["web-01-other"]
    assert [n.name for n in result.networks] == ["Other tenant"]


async def test_ipv6_address(factory: SessionFactory) -> None:
    result = await lookup(factory, "2001:db8:1::10", "2001:db8:ffff::1")
    assert [a.hostname for a in result.assets] == ["v6-host"]
    assert [(n.ip, n.name) for n in result.networks] == [
        ("2001:db8:1::10", "Lab v6 servers"),
        ("2001:db8:1::10", "Lab v6"),
        ("2001:db8:ffff::1", "Lab v6"),
    ]


async def test_ipv4_and_ipv6_never_match_each_other(factory: SessionFactory) -> None:
    # ::a01:20a has the same integer value as 10.1.2.10.
    result = await lookup(factory, "::a01:20a")
    assert (result.assets, result.networks) == ((), ())


async def test_cidr_target_finds_assets_inside_and_overlapping_networks(
    factory: SessionFactory,
) -> None:
    result = await lookup(factory, "10.1.0.0/16")
    assert [a.hostname for a in result.assets] == ["web-01", "db-01"]
    assert [(n.ip, n.cidr) for n in result.networks] == [
        ("10.1.0.0/16", "10.1.2.0/24"),
        ("10.1.0.0/16", "10.1.0.0/16"),
        ("10.1.0.0/16", "10.0.0.0/8"),
    ]


async def test_ipv6_cidr_target(factory: SessionFactory) -> None:
    result = await lookup(factory, "2001:db8:1::/64")
    assert [a.hostname for a in result.assets] == ["v6-host"]
    assert [n.name for n in result.networks] == ["Lab v6 servers", "Lab v6"]


async def test_large_range_is_capped(factory: SessionFactory) -> None:
    async with transaction(factory) as session:
        session.add_all([asset("acme", f"h{i}", f"10.2.0.{i}") for i in range(1, 40)])
    result = await lookup(factory, "10.0.0.0/8")
    assert len(result.assets) == MAX_MATCHES_PER_RANGE
    assert result.assets[0].hostname == "web-01"


async def test_no_targets(factory: SessionFactory) -> None:
    assert await lookup(factory) == IPLookupResult()
