"""IP lookup against the inventory tables ``assets`` and ``networks``.

Every comparison is on the fixed-width keys of ``src.database.ipkeys``: an address matches an
asset by ``ip_key`` equality and a network when ``start_key <= key <= end_key``; a range
``[s, e]`` overlaps a network when ``start_key <= e and end_key >= s``. Keys carry the IP
version, so IPv4 and IPv6 never match each other.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import Any, TypeVar

from sqlalchemy import Row, and_, bindparam, or_, select

from src.context import AssetMatch, IPLookupResult, NetworkMatch
from src.database.ipkeys import ip_key, network_keys
from src.database.models import Asset, Network
from src.database.session import Executor

Target = IPv4Address | IPv6Address | IPv4Network | IPv6Network

# A ticket naming a large range (10.0.0.0/8) must not drag the whole inventory into a note.
MAX_MATCHES_PER_RANGE = 20
_BATCH = 100
_T = TypeVar("_T")
_Row = Row[*tuple[Any, ...]]
# Rows, not ORM objects: nothing is written back, and loading entities cost more than the query.
_ASSET_COLUMNS = (
    Asset.ip,
    Asset.ip_key,
    Asset.hostname,
    Asset.asset_type.label("asset_type"),  # the column is named "type"
    Asset.owner,
    Asset.location,
    Asset.criticality,
)
_NETWORK_COLUMNS = (
    Network.id,
    Network.cidr,
    Network.start_key,
    Network.end_key,
    Network.prefix_len,
    Network.name,
    Network.site,
    Network.vlan,
    Network.owner,
)


async def lookup_ips(
    session: Executor, *, tenant_id: str, targets: Sequence[Target]
) -> IPLookupResult:
    """Find the tenant's assets and networks for addresses and ranges taken from a ticket.

    Args:
        session: Open session.
        tenant_id: Only this tenant's inventory is searched.
        targets: Addresses (matched exactly against assets) and networks (assets inside the
            range, networks containing or overlapping it), e.g. from ``extract_addresses``.

    Returns:
        ``addresses`` lists every target; ``assets`` and ``networks`` follow target order,
        networks of one target most specific (longest prefix) first. A range target
        contributes at most ``MAX_MATCHES_PER_RANGE`` assets and networks.
    """
    unique = list(dict.fromkeys(targets))
    if not unique:
        return IPLookupResult()
    ranges = {t: _range(t) for t in unique}
    assets = await _assets(session, tenant_id, ranges)
    networks = await _networks(session, tenant_id, list(ranges.values()))

    asset_matches: dict[AssetMatch, None] = {}
    network_matches: dict[NetworkMatch, None] = {}
    for target, (start, end) in ranges.items():
        cap = None if _is_address(target) else MAX_MATCHES_PER_RANGE
        inside = [a for a in assets if start <= a.ip_key <= end][:cap]
        for asset in inside:
            asset_matches.setdefault(_asset_match(asset))
        overlapping = [n for n in networks if n.start_key <= end and n.end_key >= start]
        overlapping.sort(key=lambda n: (-n.prefix_len, n.start_key))
        for network in overlapping[:cap]:
            network_matches.setdefault(_network_match(str(target), network))
    return IPLookupResult(
        addresses=tuple(str(t) for t in unique),
        assets=tuple(asset_matches),
        networks=tuple(network_matches),
    )


def _is_address(target: Target) -> bool:
    return isinstance(target, IPv4Address | IPv6Address)


def _range(target: Target) -> tuple[str, str]:
    if isinstance(target, IPv4Address | IPv6Address):
        key = ip_key(target)
        return key, key
    start, end, _prefix = network_keys(target)
    return start, end


def _batches(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    for offset in range(0, len(items), _BATCH):
        yield items[offset : offset + _BATCH]


@functools.cache
def _statements() -> tuple[Any, Any]:
    """The asset statements, built once: building them cost more CPU than running them."""
    base = select(*_ASSET_COLUMNS).where(Asset.tenant_id == bindparam("tenant_id"))
    exact = base.where(Asset.ip_key.in_(bindparam("keys", expanding=True)))
    inside = base.where(Asset.ip_key.between(bindparam("start"), bindparam("end")))
    return (
        exact.order_by(Asset.ip_key, Asset.id),
        inside.order_by(Asset.ip_key, Asset.id).limit(MAX_MATCHES_PER_RANGE),
    )


@functools.lru_cache(maxsize=_BATCH)
def _networks_statement(ranges: int) -> Any:
    """Networks of ``tenant_id`` overlapping any of ``ranges`` ranges ``s{i}``..``e{i}``."""
    overlaps = [
        and_(Network.start_key <= bindparam(f"e{i}"), Network.end_key >= bindparam(f"s{i}"))
        for i in range(ranges)
    ]
    return (
        select(*_NETWORK_COLUMNS)
        .where(Network.tenant_id == bindparam("tenant_id"), or_(*overlaps))
        .order_by(Network.id)
    )


async def _assets(
    session: Executor, tenant_id: str, ranges: dict[Target, tuple[str, str]]
) -> list[_Row]:
    """Assets at the exact addresses (batched) plus the first few inside each range."""
    exact, inside = _statements()
    found: list[_Row] = []
    keys = [start for target, (start, _end) in ranges.items() if _is_address(target)]
    for batch in _batches(keys):
        params = {"tenant_id": tenant_id, "keys": list(batch)}
        found.extend((await session.execute(exact, params)).all())
    for target, (start, end) in ranges.items():
        if _is_address(target):
            continue
        # One bounded query per range: a LIMIT cannot be shared across ranges.
        params = {"tenant_id": tenant_id, "start": start, "end": end}
        found.extend((await session.execute(inside, params)).all())
    return found


async def _networks(
    session: Executor, tenant_id: str, ranges: Sequence[tuple[str, str]]
) -> list[_Row]:
    """Networks overlapping any of ``ranges`` (containment is the single-address case)."""
    found: dict[int, _Row] = {}
    for batch in _batches(ranges):
        params = {"tenant_id": tenant_id}
        for i, (start, end) in enumerate(batch):
            params[f"s{i}"], params[f"e{i}"] = start, end
        for network in (await session.execute(_networks_statement(len(batch)), params)).all():
            found.setdefault(network.id, network)
    return list(found.values())


def _asset_match(asset: _Row) -> AssetMatch:
    return AssetMatch(
        ip=asset.ip,
        hostname=asset.hostname,
        asset_type=asset.asset_type,
        owner=asset.owner,
        location=asset.location,
        criticality=asset.criticality,
    )


def _network_match(ip: str, network: _Row) -> NetworkMatch:
    return NetworkMatch(
        ip=ip,
        cidr=network.cidr,
        name=network.name,
        site=network.site,
        vlan=network.vlan,
        owner=network.owner,
    )
