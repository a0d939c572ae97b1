"""The HTML note written back to the SDP ticket (SDP renders note descriptions as HTML).

Every piece of text from the ticket, the gathered context or the model is escaped; links come
only from the context (``SimilarTicket.url``, ``KBArticle.url``) and only when they are http(s).
When synthesis fell back, summary, likely cause and next steps are derived deterministically
from the context, so a fallback note has the same sections as an LLM note.

The footer carries the correlation ID verbatim: the worker searches a ticket's notes for it
before posting, so a retried job never posts twice.
"""

from __future__ import annotations

import html
from urllib.parse import urlsplit

from src.context import EnhancementContext, SimilarTicket, Synthesis

_MAX_STEPS = 6
_NOT_DETERMINED = "Not determined."
_NODE_LABELS = {
    "similar_tickets": "similar past tickets",
    "kb_search": "KB articles",
    "ip_lookup": "inventory (assets and networks)",
}


def fallback_synthesis(reason: str, *, elapsed_ms: int = 0) -> Synthesis:
    """A ``Synthesis`` that tells ``render_note`` to build every section from the context.

    Args:
        reason: Why the LLM was not used, shown in the note footer.
        elapsed_ms: Time spent before falling back.
    """
    return Synthesis(
        summary=None,
        likely_cause=None,
        next_steps=(),
        used_fallback=True,
        fallback_reason=reason,
        elapsed_ms=elapsed_ms,
    )


def render_note(context: EnhancementContext, synthesis: Synthesis) -> str:
    """Render the enhancement note as compact HTML.

    Args:
        context: What was gathered; the only source of links, IDs and inventory names.
        synthesis: The model's prose, or a fallback (``used_fallback``) with none.

    Returns:
        HTML with the sections Summary, Likely cause, Next steps, Similar past tickets,
        KB articles, Matched assets and networks, Could not gather (only when something
        failed) and a footer naming the correlation ID and how the text was written.
    """
    summary = synthesis.summary or deterministic_summary(context)
    cause = synthesis.likely_cause or deterministic_likely_cause(context)
    steps = synthesis.next_steps or deterministic_next_steps(context)
    parts = [
        _section("Summary", f"<p>{_e(summary)}</p>"),
        _section("Likely cause", f"<p>{_e(cause)}</p>"),
        _section("Next steps", _list(steps, ordered=True)),
        _section("Similar past tickets", _similar_html(context)),
        _section("KB articles", _kb_html(context)),
        _section("Matched assets and networks", _inventory_html(context)),
    ]
    if context.gaps:
        gaps = [f"{g.name}: {g.error or g.status}" for g in context.gaps]
        parts.append(_section("Could not gather", _list(gaps, ordered=False)))
    parts.append(f"<p><small>{_e(_footer(context, synthesis))}</small></p>")
    return "\n".join(parts)


def deterministic_summary(context: EnhancementContext) -> str:
    """Two or three sentences from the ticket and the counts of what was found."""
    ticket = context.ticket
    details = ", ".join(
        f"{label} {value}"
        for label, value in (("priority", ticket.priority), ("category", ticket.category))
        if value
    )
    first = (
        f'Ticket #{ticket.display_id or ticket.ticket_id} reports "{_short(ticket.subject, 150)}"'
    )
    first += f" ({details})." if details else "."
    ip = context.ip_lookup
    found = [
        _count(len(context.similar_tickets), "similar past ticket"),
        _count(len(context.kb_articles), "KB article"),
        _count(len(ip.assets) + len(ip.networks), "inventory match", "inventory matches"),
    ]
    second = f"Enhancer found {found[0]}, {found[1]} and {found[2]}"
    second += (
        f" for {_count(len(ip.addresses), 'IP address', 'IP addresses')}." if ip.addresses else "."
    )
    sentences = [first, second]
    if context.gaps:
        sentences.append(
            "Some context could not be gathered (" + ", ".join(g.name for g in context.gaps) + ")."
        )
    return " ".join(sentences)


def deterministic_likely_cause(context: EnhancementContext) -> str:
    """The resolution of the best similar ticket that has one, else "Not determined."."""
    for similar in context.similar_tickets:
        if similar.resolution and similar.resolution.strip():
            return (
                f"Possibly the same as #{_label(similar)}, which was resolved: "
                f"{_short(similar.resolution, 200)}"
            )
    return _NOT_DETERMINED


def deterministic_next_steps(context: EnhancementContext) -> tuple[str, ...]:
    """Up to six concrete steps pointing at what the context found (or failed to find)."""
    steps: list[str] = []
    for similar in context.similar_tickets[:2]:
        if similar.resolution and similar.resolution.strip():
            steps.append(
                f"Review similar ticket #{_label(similar)} "
                f"(resolved: {_short(similar.resolution, 120)})"
            )
        else:
            steps.append(
                f"Review similar ticket #{_label(similar)} ({_short(similar.subject, 80)})"
            )
    steps.extend(f"Read KB: {_short(kb.title, 120)}" for kb in context.kb_articles[:2])
    for asset in context.ip_lookup.assets[:2]:
        facts = _join(("owner", asset.owner), ("criticality", asset.criticality))
        steps.append(
            f"Check asset {asset.hostname} ({asset.ip}" + (f"; {facts})" if facts else ")")
        )
    for net in context.ip_lookup.networks[:1]:
        facts = _join(("site", net.site), ("VLAN", net.vlan), ("owner", net.owner))
        steps.append(f"Check network {net.cidr} {net.name}" + (f" ({facts})" if facts else ""))
    steps.extend(
        f"Check {_NODE_LABELS.get(g.name, g.name)} by hand: {g.name} could not be gathered"
        for g in context.gaps
    )
    if not steps:
        steps.append(
            "Triage manually: no similar tickets, KB articles or inventory matches were found."
        )
    return tuple(steps[:_MAX_STEPS])


def safe_url(url: str | None) -> str | None:
    """``url`` when it is an absolute http(s) URL with a host, else None (no javascript: etc.)."""
    if not url:
        return None
    candidate = url.strip()
    if any(ord(ch) < 0x21 or ord(ch) == 0x7F for ch in candidate):
        return None
    parts = urlsplit(candidate)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return candidate


def _similar_html(context: EnhancementContext) -> str:
    if not context.similar_tickets:
        return _empty(context, "similar_tickets", "No similar past tickets found.")
    items = []
    for similar in context.similar_tickets:
        text = f"{_link('#' + _label(similar), similar.url)} {_e(_short(similar.subject, 150))}"
        if similar.resolution and similar.resolution.strip():
            text += f" — resolved: {_e(_short(similar.resolution, 200))}"
        elif similar.status:
            text += f" ({_e(similar.status)})"
        items.append(f"<li>{text}</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _kb_html(context: EnhancementContext) -> str:
    if not context.kb_articles:
        return _empty(context, "kb_search", "No KB articles found.")
    items = "".join(
        f"<li>{_link(_short(kb.title, 150), kb.url)}</li>" for kb in context.kb_articles
    )
    return f"<ul>{items}</ul>"


def _inventory_html(context: EnhancementContext) -> str:
    ip = context.ip_lookup
    if not ip.assets and not ip.networks:
        if ip.addresses:
            default = "No inventory match for " + ", ".join(ip.addresses) + "."
        else:
            default = "No IP addresses in the ticket."
        return _empty(context, "ip_lookup", default)
    items = []
    for a in ip.assets:
        facts = _join(
            ("type", a.asset_type),
            ("owner", a.owner),
            ("location", a.location),
            ("criticality", a.criticality),
        )
        items.append(
            f"<li>Asset <b>{_e(a.hostname)}</b> {_e(a.ip)}"
            + _e(f" · {facts}" if facts else "")
            + "</li>"
        )
    for n in ip.networks:
        facts = _join(("site", n.site), ("VLAN", n.vlan), ("owner", n.owner))
        text = f"Network <b>{_e(n.cidr)}</b> {_e(n.name)}" + _e(f" · {facts}" if facts else "")
        items.append(f"<li>{text} (contains {_e(n.ip)})</li>")
    return "<ul>" + "".join(items) + "</ul>"


def _footer(context: EnhancementContext, synthesis: Synthesis) -> str:
    if synthesis.used_fallback:
        how = f"written by fallback formatter ({synthesis.fallback_reason or 'no reason given'})"
    else:
        how = f"written by LLM ({synthesis.model or 'unknown model'})"
    return f"Enhancer · correlation ID {context.correlation_id} · {how}"


def _empty(context: EnhancementContext, node: str, default: str) -> str:
    failed = any(g.name == node for g in context.gaps)
    text = f"Not available: {node} could not be gathered." if failed else default
    return f"<p>{_e(text)}</p>"


def _section(title: str, body: str) -> str:
    return f"<h4>{_e(title)}</h4>\n{body}"


def _list(items: tuple[str, ...] | list[str], *, ordered: bool) -> str:
    tag = "ol" if ordered else "ul"
    return f"<{tag}>" + "".join(f"<li>{_e(item)}</li>" for item in items) + f"</{tag}>"


def _link(text: str, url: str | None) -> str:
    href = safe_url(url)
    if href is None:
        return _e(text)
    return f'<a href="{_e(href)}" target="_blank" rel="noopener noreferrer">{_e(text)}</a>'


def _label(similar: SimilarTicket) -> str:
    return similar.display_id or similar.ticket_id


def _join(*pairs: tuple[str, str | None]) -> str:
    return ", ".join(f"{name} {value}" for name, value in pairs if value)


def _count(n: int, singular: str, plural: str | None = None) -> str:
    word = singular if n == 1 else (plural or singular + "s")
    return f"{'no' if n == 0 else n} {word}"


def _short(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)
