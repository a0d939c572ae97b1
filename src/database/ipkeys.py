"""Fixed-width sort keys for IP addresses and networks, as stored in ``assets`` / ``networks``.

A key is the IP version digit (``"4"`` or ``"6"``) followed by the 32 lowercase hex digits of
the address's integer value, so every key is 33 characters long. Plain string comparison then
orders keys numerically within a version and never mixes versions, which turns exact match
and CIDR containment into indexed ``=`` / ``BETWEEN`` comparisons on SQLite and PostgreSQL.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

KEY_LENGTH = 33


def ip_key(addr: str | IPAddress) -> str:
    """Return the sort key of one address.

    Args:
        addr: An address object or its text form (``"10.0.0.1"``, ``"fe80::1"``).

    Returns:
        The version digit plus 32 lowercase hex digits, e.g. ``"4" + "0" * 24 + "0a000001"``.

    Raises:
        ValueError: ``addr`` is not a valid IPv4 or IPv6 address.
    """
    parsed = ip_address(addr) if isinstance(addr, str) else addr
    return f"{parsed.version}{int(parsed):032x}"


def network_keys(net: str | IPNetwork) -> tuple[str, str, int]:
    """Return ``(start_key, end_key, prefix_len)`` of a network.

    Host bits are ignored (``strict=False``): ``"10.1.2.3/24"`` is ``10.1.2.0/24``.

    Args:
        net: A network object or its CIDR text; a bare address is a /32 or /128.

    Returns:
        Keys of the first and last address of the range and its prefix length.

    Raises:
        ValueError: ``net`` is not a valid IPv4 or IPv6 network.
    """
    parsed = ip_network(net, strict=False) if isinstance(net, str) else net
    return (
        ip_key(parsed.network_address),
        ip_key(parsed.broadcast_address),
        parsed.prefixlen,
    )
