"""Ticket templates from ``config/itsm_config.json``: loaded and checked once, rendered often.

Shape::

    {"templates": {"servicenow": [T, ...], "jira": [T, ...]}}
    T = {"name", "description", "required_variables": [...], "payload": {field: "text {var}"}}

``{variable}`` placeholders may appear in any string of the payload (and in list items);
``{{`` and ``}}`` stand for literal braces. :func:`load_catalog` refuses, with every problem
named, bad JSON, a wrong shape, a duplicate name, a placeholder not listed in
``required_variables``, a listed variable never used, and a fixed value that breaks a field
rule. Rendering refuses missing and unknown variables with ``variables.<name>`` field errors.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from src.errors import ConfigError, FieldError, NotFoundError, ValidationFailed
from src.services.itsm.types import PLATFORMS, Payload, Platform
from src.services.itsm.validation import RULES, check_field

DEFAULT_PATH = Path(__file__).resolve().parents[3] / "config" / "itsm_config.json"
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")


@dataclass(frozen=True, slots=True)
class Template:
    """One checked template."""

    platform: Platform
    name: str
    description: str
    required_variables: tuple[str, ...]
    payload: Payload

    def summary(self) -> dict[str, Any]:
        """The public description used by ``GET /api/v1/tickets/templates`` and the UI."""
        return {
            "platform": self.platform,
            "name": self.name,
            "description": self.description,
            "required_variables": list(self.required_variables),
            "payload": self.payload,
        }


def placeholders(text: str) -> list[str]:
    """The placeholder names in ``text`` (may include invalid ones, checked by the caller)."""
    return [m.group(1) for m in _TOKEN.finditer(text) if m.group(1) is not None]


def _substitute(text: str, values: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        return values[match.group(1)]

    return _TOKEN.sub(one, text)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _render_value(value: object, values: dict[str, str]) -> object:
    if isinstance(value, str):
        return _substitute(value, values)
    if isinstance(value, list):
        return [_render_value(item, values) for item in value]
    return value


@dataclass(frozen=True, slots=True)
class TemplateCatalog:
    """Every template, by platform and name."""

    templates: tuple[Template, ...]

    def list(self, platform: Platform | None = None) -> list[Template]:
        """Templates of ``platform`` (all when None), in file order."""
        return [t for t in self.templates if platform is None or t.platform == platform]

    def get(self, platform: Platform, name: str) -> Template:
        """The template, or ``NotFoundError`` naming the ones that exist."""
        for template in self.templates:
            if template.platform == platform and template.name == name:
                return template
        known = ", ".join(t.name for t in self.list(platform)) or "none"
        raise NotFoundError(f"No {platform} template '{name}' (known: {known})")

    def render(self, template: Template, variables: dict[str, str]) -> Payload:
        """The payload with every placeholder replaced; ``ValidationFailed`` when it cannot be."""
        errors = [
            FieldError(f"variables.{name}", "missing_variable", "is required by this template")
            for name in template.required_variables
            if name not in variables
        ]
        errors += [
            FieldError(
                f"variables.{name}",
                "unknown_variable",
                "is not used by this template (expected: "
                + ", ".join(template.required_variables)
                + ")",
            )
            for name in variables
            if name not in template.required_variables
        ]
        if errors:
            missing = [e.field.split(".", 1)[1] for e in errors if e.code == "missing_variable"]
            message = "Template variables do not match"
            if missing:
                message = f"Missing template variables: {', '.join(missing)}"
            raise ValidationFailed(errors, message)
        return {k: _render_value(v, variables) for k, v in template.payload.items()}


def load_catalog(path: Path | None = None) -> TemplateCatalog:
    """Read and check the templates file; ``ConfigError`` lists every problem found.

    Without an explicit ``path`` (``ITSM_CONFIG_PATH``), a checkout's ``config/itsm_config.json``
    is used; an installation without that file simply has no templates.
    """
    if path is None:
        if not DEFAULT_PATH.exists():
            return TemplateCatalog(())
        path = DEFAULT_PATH
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"ITSM templates: cannot read {path}: {exc.strerror}") from exc
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"ITSM templates: {path} is not valid JSON: {exc.msg} "
            f"at line {exc.lineno} column {exc.colno}"
        ) from exc
    problems: list[str] = []
    templates = _parse(raw, problems)
    if problems:
        raise ConfigError(f"ITSM templates in {path}: " + "; ".join(problems))
    return TemplateCatalog(tuple(templates))


def _parse(raw: object, problems: list[str]) -> list[Template]:
    section = raw.get("templates") if isinstance(raw, dict) else None
    if not isinstance(section, dict):
        problems.append('the top level must be {"templates": {"servicenow": [...], "jira": [...]}}')
        return []
    for key in section:
        if key not in PLATFORMS:
            problems.append(f"templates.{key}: unknown platform (use servicenow or jira)")
    result: list[Template] = []
    for platform in PLATFORMS:
        entries = section.get(platform, [])
        if not isinstance(entries, list):
            problems.append(f"templates.{platform} must be a list")
            continue
        seen: set[str] = set()
        for index, entry in enumerate(entries):
            where = f"templates.{platform}[{index}]"
            template = _parse_one(platform, entry, where, problems)
            if template is None:
                continue
            if template.name in seen:
                problems.append(f"{where}: duplicate template name '{template.name}'")
            seen.add(template.name)
            result.append(template)
    return result


def _parse_one(
    platform: Platform, entry: object, where: str, problems: list[str]
) -> Template | None:
    if not isinstance(entry, dict):
        problems.append(f"{where} must be an object")
        return None
    name, description = entry.get("name"), entry.get("description", "")
    variables, payload = entry.get("required_variables", []), entry.get("payload")
    before = len(problems)
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        problems.append(f"{where}.name must be lower-case letters, digits, _ or - (got {name!r})")
    else:
        where = f"{where} ({name})"
    if not isinstance(description, str):
        problems.append(f"{where}.description must be a string")
    if not isinstance(variables, list) or not all(
        isinstance(v, str) and _IDENT.fullmatch(v) for v in variables
    ):
        problems.append(f"{where}.required_variables must be a list of names like service_name")
        variables = []
    if not isinstance(payload, dict) or not payload:
        problems.append(f"{where}.payload must be a non-empty object")
        return None
    _check_payload(platform, payload, set(variables), where, problems)
    if len(problems) > before:
        return None
    assert isinstance(name, str) and isinstance(description, str)
    return Template(platform, name, description, tuple(variables), dict(payload))


def _check_payload(
    platform: Platform, payload: dict[str, Any], declared: set[str], where: str, problems: list[str]
) -> None:
    used: set[str] = set()
    rules = RULES[platform]
    for field, rule in rules.items():
        if rule.required and field not in payload:
            problems.append(f"{where}.payload.{field}: required by {platform}, missing")
    for field, value in payload.items():
        if field not in rules:
            problems.append(f"{where}.payload.{field}: not a known {platform} field")
            continue
        names = [n for s in _strings(value) for n in placeholders(s)]
        for placeholder in names:
            if not _IDENT.fullmatch(placeholder):
                problems.append(
                    f"{where}.payload.{field}: invalid placeholder '{{{placeholder}}}' "
                    "(use {name} with letters, digits and _ only)"
                )
            elif placeholder not in declared:
                problems.append(
                    f"{where}.payload.{field}: placeholder '{{{placeholder}}}' is not listed "
                    "in required_variables"
                )
            used.add(placeholder)
        if not names:
            for error in check_field(field, value, rules[field]):
                problems.append(f"{where}.{error.field}: {error.message}")
    for unused in sorted(declared - used):
        problems.append(f"{where}.required_variables: '{unused}' is never used in the payload")
