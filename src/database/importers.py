"""Bulk import of KB articles, tickets, assets and networks from CSV or JSON files.

A file is read and *every* row validated before anything is written: one bad row fails the
whole import with ``ValidationFailed``, each error naming the row as the user sees it
(``line N`` in a CSV, whose header is line 1; ``item N`` in a JSON array). A valid file is
written in one transaction. Unknown columns are ignored and reported as warnings.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from ipaddress import ip_address, ip_network
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from src.database.ipkeys import ip_key, network_keys
from src.database.models import Asset, KBArticle, Network, Ticket
from src.database.repositories.corpus import TicketRecord, upsert_tickets
from src.database.session import SessionFactory, transaction
from src.errors import EnhancerError, FieldError, ValidationFailed

Kind = Literal["kb", "tickets", "assets", "networks"]
Row = tuple[str, dict[str, Any]]
_BATCH = 500


class ImportFileError(EnhancerError):
    """The file cannot be read as a CSV or a JSON array (missing, unreadable, malformed)."""


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import wrote: ``imported`` rows, of which ``updated`` replaced stored tickets."""

    kind: Kind
    imported: int
    updated: int = 0
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Table:
    """Rows labelled for messages (``line N`` / ``item N``), column names, structural errors."""

    rows: list[Row]
    columns: list[str]
    has_header: bool
    errors: list[FieldError]


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    max_len: int | None = None
    required: bool = False
    parse: Callable[[str], Any] | None = None
    attr: str | None = None
    code: str = "invalid"


def _ip(value: str) -> str:
    try:
        return str(ip_address(value))
    except ValueError:
        raise ValueError(f"{value[:80]!r} is not an IPv4 or IPv6 address") from None


def _cidr(value: str) -> str:
    try:
        return str(ip_network(value, strict=False))
    except ValueError:
        raise ValueError(f"{value[:80]!r} is not a network such as 10.0.0.0/24") from None


def _url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{value[:80]!r} is not an http:// or https:// URL")
    return value


def _date(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        message = f"{value[:80]!r} is not an ISO 8601 date such as 2024-05-01T09:30:00Z"
        raise ValueError(message) from None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


_SCHEMAS: dict[Kind, tuple[_Column, ...]] = {
    "kb": (
        _Column("title", 500, required=True),
        _Column("body"),
        _Column("url", 1000, parse=_url, code="invalid_url"),
        _Column("tags", 1000),
    ),
    "tickets": (
        _Column("ticket_id", 64, required=True),
        _Column("subject", 500, required=True),
        _Column("description"),
        _Column("resolution"),
        _Column("category", 200),
        _Column("status", 100),
        _Column("display_id", 64),
        _Column("created_at", parse=_date, code="invalid_date"),
        _Column("resolved_at", parse=_date, code="invalid_date"),
    ),
    "assets": (
        _Column("hostname", 255, required=True),
        _Column("ip", 45, required=True, parse=_ip, code="invalid_ip"),
        _Column("type", 100, attr="asset_type"),
        _Column("owner", 255),
        _Column("location", 255),
        _Column("criticality", 50),
    ),
    "networks": (
        _Column("cidr", 50, required=True, parse=_cidr, code="invalid_cidr"),
        _Column("name", 255, required=True),
        _Column("site", 255),
        _Column("vlan", 50),
        _Column("owner", 255),
    ),
}


async def import_file(
    session_factory: SessionFactory,
    *,
    kind: Kind,
    path: Path,
    tenant_id: str | None,
    replace: bool = False,
) -> ImportResult:
    """Validate and import one file of ``kind`` for ``tenant_id``.

    Args:
        session_factory: Sessions of the target database.
        kind: ``"kb"``, ``"tickets"``, ``"assets"`` or ``"networks"``.
        path: A ``.csv`` or ``.json`` file; other names are sniffed (JSON starts with ``[``).
        tenant_id: Owner of the rows; ``None`` only for ``kb`` (articles shared by all).
        replace: Delete the tenant's existing rows of this kind first, in the same transaction.

    Returns:
        Counts and warnings (unknown columns).

    Raises:
        ImportFileError: The file is missing, unreadable or not valid CSV / JSON.
        ValidationFailed: A row (or the tenant) is invalid; nothing was written.
    """
    if tenant_id is None and kind != "kb":
        raise ValidationFailed([FieldError("tenant_id", "missing", f"required for {kind}")])
    if tenant_id is not None and not 0 < len(tenant_id) <= 64:
        raise ValidationFailed([FieldError("tenant_id", "invalid", "must be 1-64 characters")])
    schema = _SCHEMAS[kind]
    table = _read(path)
    known = {c.name for c in schema}
    warnings = tuple(f"ignored unknown column {n!r}" for n in table.columns if n not in known)
    missing = [
        FieldError(f"line 1: {c.name}", "missing_column", "required column is missing")
        for c in schema
        if table.has_header and c.required and c.name not in table.columns
    ]
    errors = table.errors + missing
    # Without a required column every row would fail the same way: report the header once.
    records = [] if missing else _validate(schema, table.rows, errors)
    if errors:
        raise ValidationFailed(errors, f"{len(errors)} problem(s) in {path}; nothing imported")
    async with transaction(session_factory) as session:
        updated = await _write(session, kind, tenant_id, records, replace=replace)
    return ImportResult(kind=kind, imported=len(records), updated=updated, warnings=warnings)


def _validate(
    schema: tuple[_Column, ...], rows: list[Row], errors: list[FieldError]
) -> list[dict[str, Any]]:
    """Clean every row, appending each problem to ``errors``; ticket ids must be unique."""
    unique = "ticket_id"
    records: list[dict[str, Any]] = []
    first_seen: dict[object, str] = {}
    for label, raw in rows:
        record: dict[str, Any] = {}
        for column in schema:
            value, error = _value(column, raw.get(column.name))
            if error is not None:
                errors.append(FieldError(f"{label}: {column.name}", *error))
            record[column.attr or column.name] = value
        key = record.get(unique)
        if key is not None and key in first_seen:
            message = f"duplicate {unique} {key!r}, first seen on {first_seen[key]}"
            errors.append(FieldError(f"{label}: {unique}", "duplicate", message))
        elif key is not None:
            first_seen[key] = label
        records.append(record)
    return records


def _value(column: _Column, raw: Any) -> tuple[Any, tuple[str, str] | None]:
    """Clean one raw cell; returns the value or an ``(code, message)`` error."""
    if isinstance(raw, list) and column.name == "tags":
        raw = ", ".join(str(item) for item in raw if item is not None)
    if isinstance(raw, bool | dict | list):
        return None, ("invalid_type", "must be text")
    text = "" if raw is None else str(raw).strip()
    if not text:
        return None, ("missing", "is required") if column.required else None
    if column.parse is not None:
        try:
            value = column.parse(text)
        except ValueError as exc:
            return None, (column.code, str(exc))
        if not isinstance(value, str):
            return value, None
        text = value
    if column.max_len is not None and len(text) > column.max_len:
        return None, ("too_long", f"is {len(text)} characters, at most {column.max_len} allowed")
    return text, None


async def _write(
    session: AsyncSession,
    kind: Kind,
    tenant_id: str | None,
    records: list[dict[str, Any]],
    *,
    replace: bool,
) -> int:
    """Insert ``records``; returns how many stored tickets were updated."""
    models: dict[Kind, type[KBArticle | Ticket | Asset | Network]] = {
        "kb": KBArticle,
        "tickets": Ticket,
        "assets": Asset,
        "networks": Network,
    }
    model = models[kind]
    if replace:
        owner = model.tenant_id
        await session.execute(
            delete(model).where(owner.is_(None) if tenant_id is None else owner == tenant_id)
        )
    if kind == "tickets":
        assert tenant_id is not None
        return await _write_tickets(session, tenant_id, records)
    for record in records:
        record["tenant_id"] = tenant_id
        if kind == "kb":
            record["body"] = record["body"] or ""
        elif kind == "assets":
            record["ip_key"] = ip_key(record["ip"])
        elif kind == "networks":
            record["start_key"], record["end_key"], record["prefix_len"] = network_keys(
                record["cidr"]
            )
    for batch in _batches(records):
        await session.execute(insert(model), batch)
    return 0


async def _write_tickets(
    session: AsyncSession, tenant_id: str, records: list[dict[str, Any]]
) -> int:
    existing = 0
    for batch in _batches(records):
        ids = [r["ticket_id"] for r in batch]
        stmt = select(Ticket.ticket_id).where(
            Ticket.tenant_id == tenant_id, Ticket.ticket_id.in_(ids)
        )
        existing += len((await session.scalars(stmt)).all())
    tickets = [TicketRecord(**{**r, "description": r["description"] or ""}) for r in records]
    await upsert_tickets(session, tenant_id=tenant_id, records=tickets)
    return existing


def _batches(items: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for offset in range(0, len(items), _BATCH):
        yield items[offset : offset + _BATCH]


def _read(path: Path) -> _Table:
    try:
        content = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as exc:
        raise ImportFileError(f"{path}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise ImportFileError(f"{path}: not UTF-8 text ({exc.reason})") from exc
    except OSError as exc:
        raise ImportFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    suffix = path.suffix.lower()
    is_json = suffix == ".json" or (suffix != ".csv" and content.lstrip().startswith("["))
    return _read_json(path, content) if is_json else _read_csv(path, content)


def _read_json(path: Path, content: str) -> _Table:
    try:
        data = json.loads(content)
    except json.JSONDecodeError as exc:
        message = f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        raise ImportFileError(message) from exc
    if not isinstance(data, list):
        raise ImportFileError(f"{path}: expected a JSON array of objects")
    rows: list[Row] = []
    errors: list[FieldError] = []
    columns: dict[str, None] = {}
    for number, item in enumerate(data, start=1):
        if not isinstance(item, dict):
            errors.append(FieldError(f"item {number}", "invalid_type", "must be an object"))
            continue
        row = {str(key).strip().lower(): value for key, value in item.items()}
        columns.update(dict.fromkeys(row))
        rows.append((f"item {number}", row))
    # No header: a required field missing from an item is reported on that item.
    return _Table(rows, list(columns), has_header=False, errors=errors)


def _read_csv(path: Path, content: str) -> _Table:
    reader = csv.reader(io.StringIO(content, newline=""))
    try:
        header = [name.strip().lower() for name in next(reader, [])]
        if not any(header):
            raise ImportFileError(f"{path}: empty file, expected a header line")
        errors = [
            FieldError(f"line 1: {name}", "duplicate_column", "column appears more than once")
            for i, name in enumerate(header)
            if name and name in header[:i]
        ]
        rows: list[Row] = []
        start = reader.line_num + 1
        for values in reader:
            label, start = f"line {start}", reader.line_num + 1
            if not any(v.strip() for v in values):
                continue
            if len(values) > len(header):
                message = f"has {len(values)} values but the header has {len(header)} columns"
                errors.append(FieldError(label, "extra_values", message))
                continue
            rows.append((label, {n: v for n, v in zip(header, values, strict=False) if n}))
    except csv.Error as exc:
        raise ImportFileError(f"{path}: invalid CSV at line {reader.line_num}: {exc}") from exc
    return _Table(rows, [name for name in header if name], has_header=True, errors=errors)
