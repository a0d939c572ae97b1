"""Field rules checked before any call: required, max length, enum, pattern.

Payloads are the platform's own field names, flat: ServiceNow incident fields as strings;
Jira ``project`` (key), ``summary``, ``issuetype`` and ``priority`` (names), ``labels`` (list)
and ``description`` (plain text, sent as ADF by the client). Unknown fields are refused rather
than sent: ServiceNow silently drops fields it does not know, so a typo would be lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from src.errors import FieldError, ValidationFailed
from src.services.itsm.types import Payload, Platform


@dataclass(frozen=True, slots=True)
class Rule:
    """The constraints on one field."""

    required: bool = False
    max_length: int | None = None
    choices: tuple[str, ...] | None = None
    pattern: str | None = None
    pattern_hint: str = ""
    is_list: bool = False


# short_description 160: the common dictionary length (instances may change it).
SERVICENOW_RULES: dict[str, Rule] = {
    "short_description": Rule(required=True, max_length=160),
    "description": Rule(max_length=4000),
    "urgency": Rule(choices=("1", "2", "3")),
    "impact": Rule(choices=("1", "2", "3")),
    "category": Rule(max_length=40),
    "subcategory": Rule(max_length=40),
    "assignment_group": Rule(max_length=100),
    "caller_id": Rule(max_length=100),
    "cmdb_ci": Rule(max_length=100),
    "contact_type": Rule(choices=("email", "phone", "self-service", "walk-in", "monitoring")),
    "correlation_id": Rule(
        max_length=100, pattern=r"[A-Za-z0-9._:-]+", pattern_hint="letters, digits, . _ : -"
    ),
    "correlation_display": Rule(max_length=100),
    "work_notes": Rule(max_length=4000),
}

JIRA_ISSUE_TYPES = ("Bug", "Task", "Story", "Incident", "Problem", "Service Request")
JIRA_PRIORITIES = ("Highest", "High", "Medium", "Low", "Lowest")

JIRA_RULES: dict[str, Rule] = {
    "project": Rule(
        required=True, pattern=r"[A-Z][A-Z0-9_]{1,9}", pattern_hint="a project key such as OPS"
    ),
    "summary": Rule(
        required=True, max_length=255, pattern=r"[^\r\n]+", pattern_hint="a single line"
    ),
    "issuetype": Rule(required=True, choices=JIRA_ISSUE_TYPES),
    "priority": Rule(choices=JIRA_PRIORITIES),
    "description": Rule(max_length=32767),
    "labels": Rule(
        is_list=True, max_length=255, pattern=r"\S+", pattern_hint="no spaces in a label"
    ),
}

RULES: dict[Platform, dict[str, Rule]] = {"servicenow": SERVICENOW_RULES, "jira": JIRA_RULES}

JOB_ID_PATTERN = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def check_field(
    name: str, value: object, rule: Rule, *, prefix: str = "payload"
) -> list[FieldError]:
    """Problems with one present field; empty when it is fine."""
    field = f"{prefix}.{name}"
    if rule.is_list:
        if not isinstance(value, list):
            return [FieldError(field, "type", "must be a list of strings")]
        problems: list[FieldError] = []
        for index, item in enumerate(value):
            problems += check_field(f"{name}[{index}]", item, _item(rule), prefix=prefix)
        return problems
    if not isinstance(value, str):
        return [FieldError(field, "type", "must be a string")]
    if rule.required and not value.strip():
        return [FieldError(field, "required", "must not be empty")]
    if rule.max_length is not None and len(value) > rule.max_length:
        return [
            FieldError(
                field,
                "max_length",
                f"is {len(value)} characters; at most {rule.max_length} allowed",
            )
        ]
    if rule.choices is not None and value not in rule.choices:
        allowed = ", ".join(repr(c) for c in rule.choices)
        return [FieldError(field, "invalid_choice", f"must be one of {allowed}")]
    if rule.pattern is not None and value and not re.fullmatch(rule.pattern, value):
        return [FieldError(field, "pattern", f"must be {rule.pattern_hint}")]
    return []


def _item(rule: Rule) -> Rule:
    return Rule(
        required=True,
        max_length=rule.max_length,
        choices=rule.choices,
        pattern=rule.pattern,
        pattern_hint=rule.pattern_hint,
    )


def payload_errors(platform: Platform, payload: Payload) -> list[FieldError]:
    """Every problem with ``payload`` for ``platform``."""
    rules = RULES[platform]
    errors: list[FieldError] = []
    for name, rule in rules.items():
        if rule.required and name not in payload:
            errors.append(FieldError(f"payload.{name}", "required", "is required"))
    for name, value in payload.items():
        rule_for = rules.get(name)
        if rule_for is None:
            allowed = ", ".join(sorted(rules))
            errors.append(
                FieldError(f"payload.{name}", "unknown_field", f"is not a known field ({allowed})")
            )
            continue
        errors += check_field(name, value, rule_for)
    return errors


def job_id_errors(job_id: str | None) -> list[FieldError]:
    """A ``job_id`` is optional; when given it must look like one."""
    if job_id is None or JOB_ID_PATTERN.fullmatch(job_id):
        return []
    return [FieldError("job_id", "pattern", "must be 1-128 letters, digits, . _ : -")]


def validate(platform: Platform, payload: Payload, *, job_id: str | None = None) -> None:
    """Raise ``ValidationFailed`` listing every problem; return when the input is valid."""
    errors = job_id_errors(job_id) + payload_errors(platform, payload)
    if errors:
        raise ValidationFailed(errors)
