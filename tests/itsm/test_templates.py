"""Templates: listing, rendering, dry runs, every rendering error, and the start-up checks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from src.errors import ConfigError
from src.services.itsm.templates import load_catalog
from tests.fakes.jira import ISSUE, RunningJira, adf_problems
from tests.fakes.servicenow import RunningServiceNow
from tests.integration.harness import RunningAPI
from tests.itsm.conftest import AUTH, post

INCIDENT_VARS = {
    "service_name": "Payment API",
    "error_message": "500 Internal Server Error",
    "impact": "Multiple customers affected",
}
BUG_VARS = {
    "summary": "Critical bug in payment flow",
    "description": "Users unable to complete checkout",
    "severity": "P1",
    "priority": "Highest",
}


def _from_template(api: RunningAPI, **body: Any) -> Any:
    return post(api, "/api/v1/tickets/from-template", body)


def test_templates_are_listed_per_platform(api: RunningAPI) -> None:
    response = api.client.get("/api/v1/tickets/templates?platform=jira", headers=AUTH)

    assert response.status_code == 200
    templates = response.json()
    assert {t["platform"] for t in templates} == {"jira"}
    bug = next(t for t in templates if t["name"] == "bug_report")
    assert bug["required_variables"] == ["summary", "description", "severity", "priority"]
    everything = api.client.get("/api/v1/tickets/templates", headers=AUTH).json()
    assert {t["platform"] for t in everything} == {"servicenow", "jira"}


def test_unknown_platform_filter_is_400(api: RunningAPI) -> None:
    response = api.client.get("/api/v1/tickets/templates?platform=remedy", headers=AUTH)

    assert response.status_code == 400


def test_dry_run_returns_the_rendered_payload_and_calls_nothing(
    api: RunningAPI, servicenow: RunningServiceNow, jira: RunningJira
) -> None:
    sn = _from_template(
        api,
        job_id="test-prod-123",
        platform="servicenow",
        template_name="production_incident",
        variables=INCIDENT_VARS,
        dry_run=True,
    )
    bug = _from_template(
        api, platform="jira", template_name="bug_report", variables=BUG_VARS, dry_run=True
    )

    assert sn.status_code == 200, sn.text
    assert sn.json()["payload"]["short_description"] == "Production incident: Payment API"
    assert "Business impact: Multiple customers affected" in sn.json()["payload"]["description"]
    fields = bug.json()["request_body"]["fields"]
    assert fields["labels"] == ["enhancer", "severity-P1"]
    assert adf_problems(fields["description"]) == []
    assert servicenow.state.calls == [] and jira.state.calls == []


def test_template_creation_creates_and_records_the_template(
    api: RunningAPI, jira: RunningJira
) -> None:
    response = _from_template(
        api, job_id="job-7", platform="jira", template_name="bug_report", variables=BUG_VARS
    )

    assert response.status_code == 201, response.text
    assert response.json()["template_name"] == "bug_report"
    assert response.json()["priority"] == "P1"
    assert jira.state.creates(ISSUE)[0].body["fields"]["summary"] == BUG_VARS["summary"]


def test_missing_variables_are_400_listing_each(
    api: RunningAPI, servicenow: RunningServiceNow
) -> None:
    response = _from_template(
        api,
        platform="servicenow",
        template_name="production_incident",
        variables={"service_name": "Payment API"},
    )

    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "Missing template variables: error_message, impact"
    assert [(e["field"], e["code"]) for e in body["errors"]] == [
        ("variables.error_message", "missing_variable"),
        ("variables.impact", "missing_variable"),
    ]
    assert servicenow.state.calls == []


def test_unknown_variable_is_400(api: RunningAPI) -> None:
    variables = {**BUG_VARS, "sevrity": "P1"}

    response = _from_template(api, platform="jira", template_name="bug_report", variables=variables)

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "variables.sevrity"
    assert response.json()["errors"][0]["code"] == "unknown_variable"


def test_unknown_template_is_404(api: RunningAPI) -> None:
    response = _from_template(api, platform="jira", template_name="nope", variables={})

    assert response.status_code == 404
    assert "bug_report" in response.json()["detail"]


def test_rendered_value_breaking_a_rule_is_400_on_the_payload_field(api: RunningAPI) -> None:
    variables = {**INCIDENT_VARS, "service_name": "x" * 200}

    response = _from_template(
        api, platform="servicenow", template_name="production_incident", variables=variables
    )

    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "payload.short_description"


def test_rendered_enum_from_a_variable_is_validated(api: RunningAPI) -> None:
    variables = {**BUG_VARS, "priority": "Urgent"}

    response = _from_template(api, platform="jira", template_name="bug_report", variables=variables)

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "invalid_choice"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "itsm_config.json"
    path.write_text(text)
    return path


def _config(**template: Any) -> str:
    base: dict[str, Any] = {
        "name": "t",
        "description": "d",
        "required_variables": ["a"],
        "payload": {"short_description": "{a}"},
    }
    return json.dumps({"templates": {"servicenow": [{**base, **template}]}})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"templates": {"servicenow": [],}}', "not valid JSON: Expecting property name"),
        ("[]", "the top level must be"),
        ('{"templates": {"remedy": []}}', "templates.remedy: unknown platform"),
        (_config(payload={"short_description": "{b}"}), "'{b}' is not listed in required_var"),
        (_config(payload={"short_description": "{var name}"}), "invalid placeholder '{var name}'"),
        (_config(required_variables=["a", "b"]), "'b' is never used"),
        (_config(payload={"short_description": "{a}", "urgency": "9"}), "urgency: must be one"),
        (_config(payload={"short_description": "{a}", "colour": "red"}), "colour: not a known"),
        (_config(payload={"description": "{a}"}), "short_description: required by servicenow"),
        (_config(name="Bad Name"), ".name must be lower-case"),
        (_config(required_variables="a"), "required_variables must be a list"),
        (_config(payload={}), "payload must be a non-empty object"),
    ],
)
def test_bad_template_file_is_refused_with_a_clear_message(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_catalog(_write(tmp_path, text))

    assert message in str(caught.value)


def test_duplicate_template_names_are_refused(tmp_path: Path) -> None:
    one = json.loads(_config())["templates"]["servicenow"][0]
    text = json.dumps({"templates": {"servicenow": [one, one]}})

    with pytest.raises(ConfigError, match="duplicate template name 't'"):
        load_catalog(_write(tmp_path, text))


def test_missing_template_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_catalog(tmp_path / "absent.json")


def test_literal_braces_survive_rendering(tmp_path: Path) -> None:
    catalog = load_catalog(_write(tmp_path, _config(payload={"short_description": "{{x}} {a}"})))

    rendered = catalog.render(catalog.get("servicenow", "t"), {"a": "1"})

    assert rendered == {"short_description": "{x} 1"}


def test_shipped_templates_are_valid() -> None:
    catalog = load_catalog()

    names = {(t.platform, t.name) for t in catalog.list()}
    assert {("servicenow", "production_incident"), ("jira", "bug_report")} <= names
