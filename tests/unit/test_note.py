"""render_note: sections, escaping, safe links, correlation ID and the fallback formatter."""

from __future__ import annotations

import re

import pytest

from src.context import (
    AssetMatch,
    EnhancementContext,
    IPLookupResult,
    KBArticle,
    NetworkMatch,
    NodeOutcome,
    SimilarTicket,
    Synthesis,
    TicketInfo,
)
from src.services.note import fallback_synthesis, render_note, safe_url

SECTIONS = (
    "Summary",
    "Likely cause",
    "Next steps",
    "Similar past tickets",
    "KB articles",
    "Matched assets and networks",
)
XSS = "<script>alert(1)</script>"


def make_context(**changes: object) -> EnhancementContext:
    values: dict[str, object] = {
        "tenant_id": "acme",
        "correlation_id": "3f1c2a9e-5d1b-4c8e-9a77-0b2d4e6f8a10",
        "ticket": TicketInfo(
            ticket_id="9001",
            display_id="REQ-9001",
            subject="Printer 10.0.0.5 offline",
            description="The 3rd floor printer at 10.0.0.5 does not answer.",
            priority="High",
            category="Hardware",
        ),
        "similar_tickets": (
            SimilarTicket(
                "812",
                "Printer offline again",
                "Replaced the network cable",
                "Closed",
                "https://sdp.example.com/WorkOrder.do?woMode=viewWO&woID=812",
                display_id="REQ-812",
            ),
        ),
        "kb_articles": (
            KBArticle("Printer troubleshooting", "https://sdp.example.com/kb/17", "Check cable"),
        ),
        "ip_lookup": IPLookupResult(
            addresses=("10.0.0.5",),
            assets=(AssetMatch("10.0.0.5", "prn-3f-01", "printer", "Facilities", "HQ 3F", "low"),),
            networks=(NetworkMatch("10.0.0.5", "10.0.0.0/24", "HQ-Office", "HQ", "20", "NetOps"),),
        ),
        "outcomes": (
            NodeOutcome("similar_tickets", "success", 40),
            NodeOutcome("kb_search", "success", 35),
            NodeOutcome("ip_lookup", "success", 5),
        ),
    }
    values.update(changes)
    return EnhancementContext(**values)  # type: ignore[arg-type]


def llm_synthesis(**changes: object) -> Synthesis:
    values: dict[str, object] = {
        "summary": "The 3rd floor printer is offline.",
        "likely_cause": "A loose network cable, as last time.",
        "next_steps": ("Check the cable.", "Ping 10.0.0.5."),
        "used_fallback": False,
        "model": "openai/gpt-4o-mini",
        "prompt_tokens": 400,
        "completion_tokens": 90,
        "cost": 0.0001,
    }
    values.update(changes)
    return Synthesis(**values)  # type: ignore[arg-type]


def headings(note: str) -> list[str]:
    return re.findall(r"<h4>(.*?)</h4>", note)


def test_llm_note_has_every_section_and_the_model_prose() -> None:
    note = render_note(make_context(), llm_synthesis())

    assert headings(note) == list(SECTIONS)
    assert "<p>The 3rd floor printer is offline.</p>" in note
    assert "<ol><li>Check the cable.</li><li>Ping 10.0.0.5.</li></ol>" in note
    assert "REQ-812" in note and "Replaced the network cable" in note
    assert '<a href="https://sdp.example.com/kb/17"' in note
    assert "prn-3f-01" in note and "owner Facilities" in note and "criticality low" in note
    assert "10.0.0.0/24" in note and "VLAN 20" in note and "site HQ" in note
    assert note.rstrip().endswith(
        "<p><small>Enhancer · correlation ID 3f1c2a9e-5d1b-4c8e-9a77-0b2d4e6f8a10"
        " · written by LLM (openai/gpt-4o-mini)</small></p>"
    )


def test_similar_ticket_link_comes_from_context_and_is_attribute_escaped() -> None:
    note = render_note(make_context(), llm_synthesis())

    assert (
        '<a href="https://sdp.example.com/WorkOrder.do?woMode=viewWO&amp;woID=812" '
        'target="_blank" rel="noopener noreferrer">#REQ-812</a>'
    ) in note


def test_correlation_id_appears_verbatim_in_llm_and_fallback_notes() -> None:
    context = make_context()
    for synthesis in (llm_synthesis(), fallback_synthesis("circuit breaker open")):
        assert context.correlation_id in render_note(context, synthesis)


def test_script_from_ticket_context_and_model_is_escaped() -> None:
    context = make_context(
        ticket=TicketInfo("9001", f"Subject {XSS}", f"Description {XSS}"),
        similar_tickets=(SimilarTicket("1", XSS, XSS, "Closed", None),),
        kb_articles=(KBArticle(XSS, None, XSS),),
        outcomes=(NodeOutcome("kb_search", "failed", 3, error=XSS),),
    )
    synthesis = llm_synthesis(
        summary=XSS, likely_cause=f'"{XSS}"', next_steps=(XSS,), model=f"evil{XSS}"
    )
    for note in (render_note(context, synthesis), render_note(context, fallback_synthesis(XSS))):
        assert "<script" not in note
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in note


def test_fallback_summary_is_built_from_the_escaped_ticket_subject() -> None:
    context = make_context(ticket=TicketInfo("9001", f'Disk "full" {XSS}', "x"))
    note = render_note(context, fallback_synthesis("OPENROUTER_API_KEY not set"))

    assert "Ticket #9001 reports &quot;Disk &quot;full&quot; &lt;script&gt;" in note


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        " JavaScript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
        "//evil.example.com/x",
        "https://",
        "ftp://files.example.com/a",
    ],
)
def test_non_http_urls_are_dropped_but_the_text_stays(url: str) -> None:
    context = make_context(
        similar_tickets=(SimilarTicket("812", "Printer offline", None, "Open", url),),
        kb_articles=(KBArticle("Printer guide", url, ""),),
    )
    note = render_note(context, llm_synthesis())

    assert safe_url(url) is None
    assert "href" not in note
    assert "#812" in note and "Printer guide" in note


def test_fallback_note_has_the_same_sections_and_derived_prose() -> None:
    note = render_note(
        make_context(), fallback_synthesis("OpenRouter API error: 503 Service Unavailable")
    )

    assert headings(note) == list(SECTIONS)
    assert (
        "Ticket #REQ-9001 reports &quot;Printer 10.0.0.5 offline&quot; "
        "(priority High, category Hardware)."
    ) in note
    assert "Enhancer found 1 similar past ticket, 1 KB article and 2 inventory matches" in note
    assert "Possibly the same as #REQ-812, which was resolved: Replaced the network cable" in note
    assert "<li>Review similar ticket #REQ-812 (resolved: Replaced the network cable)</li>" in note
    assert "<li>Read KB: Printer troubleshooting</li>" in note
    assert "<li>Check asset prn-3f-01 (10.0.0.5; owner Facilities, criticality low)</li>" in note
    assert "written by fallback formatter (OpenRouter API error: 503 Service Unavailable)" in note


def test_fallback_with_nothing_found_says_so() -> None:
    context = make_context(similar_tickets=(), kb_articles=(), ip_lookup=IPLookupResult())
    note = render_note(
        context, fallback_synthesis("LLM synthesis disabled (DISABLE_LLM_SYNTHESIS)")
    )

    assert headings(note) == list(SECTIONS)
    assert "Not determined." in note
    assert "No similar past tickets found." in note
    assert "No KB articles found." in note
    assert "No IP addresses in the ticket." in note
    assert "Triage manually" in note


def test_gaps_are_listed_with_name_and_error() -> None:
    context = make_context(
        kb_articles=(),
        outcomes=(
            NodeOutcome("similar_tickets", "success", 40),
            NodeOutcome("kb_search", "timeout", 30000, error="Timeout after 30s"),
            NodeOutcome("ip_lookup", "failed", 3, error="database unavailable"),
        ),
    )
    note = render_note(context, fallback_synthesis("circuit breaker open"))

    assert headings(note) == [*SECTIONS, "Could not gather"]
    assert "<li>kb_search: Timeout after 30s</li>" in note
    assert "<li>ip_lookup: database unavailable</li>" in note
    assert "Not available: kb_search could not be gathered." in note
    assert "Some context could not be gathered (kb_search, ip_lookup)." in note


def test_no_gaps_means_no_could_not_gather_section() -> None:
    assert "Could not gather" not in render_note(make_context(), llm_synthesis())


def test_note_stays_compact() -> None:
    note = render_note(make_context(), llm_synthesis())

    assert "<style" not in note and "style=" not in note
    assert len(note) < 3000
