"""ITSM building blocks: the shared retry policy's ITSM settings, ADF, SLA breach flags."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from src.services.http import RetryPolicy
from src.services.itsm.jira import adf_document, issue_fields
from src.services.itsm.sla import sla_view
from tests.conftest import make_settings
from tests.fakes.jira import adf_problems

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def test_itsm_policy_comes_from_itsm_settings_with_its_backoff(tmp_path: Path) -> None:
    settings = make_settings(
        tmp_path, itsm_max_retries=5, itsm_retry_delay=0.5, itsm_retry_backoff=3.0
    )

    policy = RetryPolicy.from_itsm_settings(settings)

    assert policy == RetryPolicy(5, 0.5, 60.0, backoff=3.0)
    exact = RetryPolicy(5, 0.5, 60.0, jitter=False, backoff=3.0)
    assert [exact.delay_for(n) for n in (1, 2, 3, 4, 5)] == [0.5, 1.5, 4.5, 13.5, 40.5]
    assert exact.delay_for(6) == 60.0


def test_itsm_defaults_match_the_runbook(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)

    policy = RetryPolicy.from_itsm_settings(settings)

    assert (policy.max_retries, policy.base_delay, policy.backoff, policy.max_delay) == (
        3,
        1.0,
        2.0,
        60.0,
    )
    assert (settings.servicenow_timeout, settings.jira_timeout) == (30.0, 30.0)
    assert settings.verify_ssl is True


def test_servicenow_instance_host_becomes_an_https_url(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, servicenow_instance="acme.service-now.com/")

    assert settings.servicenow_instance == "https://acme.service-now.com"


def test_adf_document_is_valid_for_awkward_text() -> None:
    for text in ("one", "a\nb", "a\n\n\nb", "\n\nlead", "trail\n", "", "x\r\ny"):
        assert adf_problems(adf_document(text)) == [], text


def test_description_is_adf_and_empty_priority_is_left_out() -> None:
    fields = issue_fields(
        {"project": "OPS", "summary": "s", "issuetype": "Task", "description": "d"}
    )

    assert "priority" not in fields
    assert fields["description"]["type"] == "doc"


def test_sla_breach_flags_per_priority() -> None:
    fast = sla_view(
        priority="P1",
        created_at=T0,
        acknowledged_at=T0 + timedelta(minutes=10),
        resolved_at=T0 + timedelta(hours=5),
    )
    still_open = sla_view(
        priority="P4",
        created_at=T0,
        acknowledged_at=None,
        resolved_at=None,
        now=T0 + timedelta(hours=9),
    )
    unknown = sla_view(priority=None, created_at=T0, acknowledged_at=None, resolved_at=None)

    assert (fast.acknowledge_breached, fast.resolve_breached) == (False, True)
    assert (still_open.acknowledge_breached, still_open.resolve_breached) == (True, False)
    assert unknown.acknowledge_breached is None and unknown.resolve_target_s is None
