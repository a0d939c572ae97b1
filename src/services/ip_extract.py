"""Find IP addresses and CIDR ranges in free ticket text; pure, never touches the network.

Candidates are found with deliberately loose patterns and then validated by ``ipaddress``,
so the patterns only have to get the *boundaries* right: a candidate may not touch a word
character or continue as a dotted number (``v1.2.3.4``, ``1.2.3.4.5`` and ``10.0.0.1234`` are
not addresses), while ports (``10.0.0.1:8080``), brackets and sentence punctuation are fine.
"""

from __future__ import annotations

import re
from ipaddress import (
    IPv4Address,
    IPv4Network,
    IPv6Address,
    IPv6Network,
    ip_address,
    ip_network,
)

Target = IPv4Address | IPv6Address | IPv4Network | IPv6Network

_V4 = r"\d{1,3}(?:\.\d{1,3}){3}"
# An optional "/prefix" that is not itself the start of a path or a longer number.
_PREFIX = r"(?:/(?P<{name}>\d{{1,3}})(?![\w/]|\.\d))?"
_END = r"(?![\w]|\.\d)"
_PATTERN = re.compile(
    # IPv6: 2-8 colon groups, optionally ending in an embedded IPv4 and a %zone (dropped).
    r"(?<![\w:.%])(?P<v6>(?:[0-9a-f]{0,4}:){2,7}(?:" + _V4 + r"|[0-9a-f]{1,4})?)"
    r"(?:%[\w.-]+)?" + _PREFIX.format(name="v6prefix") + r"(?![\w:]|\.\d)"
    # IPv4: four dotted numbers not glued to a word or to more dotted numbers.
    r"|(?<![\w.])(?P<v4>" + _V4 + r")" + _PREFIX.format(name="v4prefix") + _END,
    re.IGNORECASE,
)


def extract_addresses(text: str, *, limit: int = 50) -> list[Target]:
    """Return the valid IPv4/IPv6 addresses and networks in ``text``, in order of appearance.

    A CIDR with host bits set is normalised to its network (``10.0.0.5/24`` ->
    ``10.0.0.0/24``). Invalid candidates (``999.1.1.1``, ``10.0.0.1/33``, times such as
    ``10:30:00``, MAC addresses) are skipped, duplicates are dropped and at most ``limit``
    results are returned.

    Args:
        text: Free text, typically a ticket's subject and description.
        limit: Maximum number of results.

    Returns:
        Address objects for bare addresses, network objects for CIDR notation.
    """
    found: list[Target] = []
    seen: set[Target] = set()
    if limit <= 0:
        return found
    for match in _PATTERN.finditer(text):
        if match.group("v6") is not None:
            target = _parse_v6(match.group("v6"), match.group("v6prefix"))
        else:
            target = _parse(match.group("v4"), match.group("v4prefix"))
        if target is None or target in seen:
            continue
        seen.add(target)
        found.append(target)
        if len(found) >= limit:
            break
    return found


def _parse(address: str, prefix: str | None) -> Target | None:
    try:
        if prefix is None:
            return ip_address(address)
        return ip_network(f"{address}/{prefix}", strict=False)
    except ValueError:
        return None


def _parse_v6(candidate: str, prefix: str | None) -> Target | None:
    # "fe80::1:" at the end of a sentence: the pattern swallowed a trailing colon.
    if candidate.endswith(":") and not candidate.endswith("::"):
        candidate = candidate[:-1]
    if candidate == "::" and prefix is None:
        return None  # a lone "::" is punctuation far more often than the unspecified address
    return _parse(candidate, prefix)
