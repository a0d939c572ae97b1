from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Sequence
from ipaddress import ip_address
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from src.cli import imports
from src.database.importers import ImportFileError, import_file
from src.database.models import Asset, Base, KBArticle, Network, TenantConfig, Ticket
from src.database.repositories.corpus import search_kb, search_similar_tickets
from src.database.repositories.inventory import lookup_ips
from src.database.session import SessionFactory, make_engine, make_session_factory, transaction
from src.errors import ValidationFailed
from tests.conftest import make_settings

KB_CSV = """title,body,url,tags,colour
VPN troubleshooting,"Raise the DPD timeout
when the VPN drops.",https://kb.example/vpn,"vpn, network",blue
Printer jams,Replace the fuser.,,printer,
"""
TICKETS_CSV = """ticket_id,subject,description,resolution,status,created_at,resolved_at
101,VPN drops hourly,"AnyConnect
disconnects",Raised DPD,Resolved,2024-05-01T09:30:00Z,2024-05-02
102,Outlook crashes,Splash screen then gone,,Open,2024-05-03T10:00:00+02:00,
"""
ASSETS = [
    {"hostname": "web-01", "ip": "10.1.2.10", "type": "server", "criticality": "high"},
    {"hostname": "v6", "ip": "2001:DB8::0001", "owner": None},
]
NETWORKS_CSV = "cidr,name,site,vlan\n10.1.2.3/24,Servers,HQ,12\n2001:db8::/32,Lab,,\n"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
async def factory(db_url: str, tmp_path: Path) -> AsyncIterator[SessionFactory]:
    engine = make_engine(make_settings(tmp_path, database_url=db_url))
    yield make_session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def offline(tmp_path: Path) -> AsyncIterator[SessionFactory]:
    """Sessions on a database never touched: for failures caught before anything is written."""
    engine = make_engine(
        make_settings(tmp_path, database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db")
    )
    yield make_session_factory(engine)
    await engine.dispose()
    assert not (tmp_path / "x.db").exists()


def write(tmp_path: Path, name: str, content: str | Sequence[object]) -> Path:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


async def count(factory: SessionFactory, model: type[Base]) -> int:
    async with factory() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_kb_csv_is_imported_shared_and_searchable(
    factory: SessionFactory, tmp_path: Path
) -> None:
    path = write(tmp_path, "kb.csv", KB_CSV)
    result = await import_file(factory, kind="kb", path=path, tenant_id=None)
    assert (result.imported, result.warnings) == (2, ("ignored unknown column 'colour'",))
    async with factory() as session:
        [hit] = await search_kb(session, tenant_id="any", text="vpn timeout", limit=5)
    assert (hit.title, hit.url) == ("VPN troubleshooting", "https://kb.example/vpn")
    assert hit.snippet == "Raise the DPD timeout when the VPN drops."


async def test_kb_json_accepts_tag_lists(factory: SessionFactory, tmp_path: Path) -> None:
    items = [{"Title": "Reset MFA", "body": "Steps", "tags": ["mfa", "auth"]}]
    path = write(tmp_path, "kb.json", items)
    assert (await import_file(factory, kind="kb", path=path, tenant_id="acme")).imported == 1
    async with factory() as session:
        article = await session.scalar(select(KBArticle))
    assert article is not None
    assert (article.tenant_id, article.tags) == ("acme", "mfa, auth")


async def test_tickets_csv_then_json_update(factory: SessionFactory, tmp_path: Path) -> None:
    path = write(tmp_path, "tickets.csv", TICKETS_CSV)
    result = await import_file(factory, kind="tickets", path=path, tenant_id="acme")
    assert (result.imported, result.updated) == (2, 0)
    update = [{"ticket_id": 102, "subject": "Outlook crashes", "resolution": "Repaired Office"}]
    path = write(tmp_path, "tickets.json", update)
    result = await import_file(factory, kind="tickets", path=path, tenant_id="acme")
    assert (result.imported, result.updated) == (1, 1)
    async with factory() as session:
        found = await search_similar_tickets(
            session,
            tenant_id="acme",
            text="outlook",
            exclude_ticket_id=None,
            limit=5,
            url_for=lambda _id: None,
        )
        first = await session.scalar(select(Ticket).where(Ticket.ticket_id == "101"))
    assert [(t.ticket_id, t.resolution, t.status) for t in found] == [
        ("102", "Repaired Office", "Open")
    ]
    assert first is not None
    assert first.created_at.isoformat() == "2024-05-01T09:30:00+00:00"
    assert first.resolved_at is not None and first.resolved_at.isoformat().startswith("2024-05-02")
    assert first.description == "AnyConnect\ndisconnects"


async def test_assets_and_networks_are_keyed_for_lookup(
    factory: SessionFactory, tmp_path: Path
) -> None:
    await import_file(
        factory, kind="assets", path=write(tmp_path, "a.json", ASSETS), tenant_id="acme"
    )
    await import_file(
        factory, kind="networks", path=write(tmp_path, "n.csv", NETWORKS_CSV), tenant_id="acme"
    )
    async with factory() as session:
        result = await lookup_ips(
            session,
            tenant_id="acme",
            targets=[ip_address("10.1.2.10"), ip_address("2001:db8::1")],
        )
    assert [(a.ip, a.hostname, a.asset_type) for a in result.assets] == [
        ("10.1.2.10", "web-01", "server"),
        ("2001:db8::1", "v6", None),
    ]
    assert [(n.cidr, n.vlan) for n in result.networks] == [
        ("10.1.2.0/24", "12"),
        ("2001:db8::/32", None),
    ]


async def test_replace_swaps_the_tenants_rows(factory: SessionFactory, tmp_path: Path) -> None:
    path = write(tmp_path, "n.json", [{"cidr": "10.0.0.0/8", "name": "Corp", "vlan": 7}])
    await import_file(factory, kind="networks", path=path, tenant_id="acme")
    await import_file(factory, kind="networks", path=path, tenant_id="globex")
    await import_file(factory, kind="networks", path=path, tenant_id="acme", replace=True)
    assert await count(factory, Network) == 2


async def test_one_bad_row_imports_nothing_and_names_its_line(
    factory: SessionFactory, tmp_path: Path
) -> None:
    content = (
        'hostname,ip\nweb-01,10.0.0.1\n"multi\nline",10.0.0.2\nbad,999.1.1.1\n\nx,\n'
        + ("y" * 300)
        + ",10.0.0.3\n"
    )
    path = write(tmp_path, "assets.csv", content)
    with pytest.raises(ValidationFailed) as caught:
        await import_file(factory, kind="assets", path=path, tenant_id="acme")
    assert [(e.field, e.code) for e in caught.value.errors] == [
        ("line 5: ip", "invalid_ip"),
        ("line 7: ip", "missing"),
        ("line 8: hostname", "too_long"),
    ]
    assert "999.1.1.1" in caught.value.errors[0].message
    assert await count(factory, Asset) == 0


@pytest.mark.parametrize(
    ("kind", "items", "expected"),
    [
        (
            "networks",
            [{"cidr": "10.0.0.0/8", "name": "a"}, {"cidr": "10.0.0.0/33", "name": "b"}],
            [("item 2: cidr", "invalid_cidr")],
        ),
        ("kb", [{"title": "t", "url": "javascript:alert(1)"}], [("item 1: url", "invalid_url")]),
        (
            "kb",
            [{"title": "t"}, "oops", {"title": {"x": 1}}],
            [("item 2", "invalid_type"), ("item 3: title", "invalid_type")],
        ),
        (
            "tickets",
            [{"ticket_id": "1", "subject": "s", "created_at": "yesterday"}],
            [("item 1: created_at", "invalid_date")],
        ),
        (
            "tickets",
            [{"ticket_id": "1", "subject": "a"}, {"ticket_id": 1, "subject": "b"}],
            [("item 2: ticket_id", "duplicate")],
        ),
        ("tickets", [{"ticket_id": "1"}], [("item 1: subject", "missing")]),
    ],
)
async def test_json_errors_name_the_item(
    offline: SessionFactory,
    tmp_path: Path,
    kind: str,
    items: list[object],
    expected: list[tuple[str, str]],
) -> None:
    path = write(tmp_path, "data.json", items)
    with pytest.raises(ValidationFailed) as caught:
        await import_file(offline, kind=kind, path=path, tenant_id="acme")  # type: ignore[arg-type]
    assert [(e.field, e.code) for e in caught.value.errors] == expected


async def test_csv_structure_errors(offline: SessionFactory, tmp_path: Path) -> None:
    path = write(tmp_path, "kb.csv", "name,body\nx,y\n")
    with pytest.raises(ValidationFailed) as caught:
        await import_file(offline, kind="kb", path=path, tenant_id=None)
    assert [e.field for e in caught.value.errors] == ["line 1: title"]
    path = write(tmp_path, "n.csv", "cidr,name\n10.0.0.0/8,a,extra\n")
    with pytest.raises(ValidationFailed) as caught:
        await import_file(offline, kind="networks", path=path, tenant_id="acme")
    assert [(e.field, e.code) for e in caught.value.errors] == [("line 2", "extra_values")]


async def test_tenant_is_required_except_for_kb(offline: SessionFactory, tmp_path: Path) -> None:
    path = write(tmp_path, "n.csv", NETWORKS_CSV)
    with pytest.raises(ValidationFailed) as caught:
        await import_file(offline, kind="networks", path=path, tenant_id=None)
    assert caught.value.errors[0].field == "tenant_id"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.csv", None, "no such file"),
        ("bad.json", '[{"title": "x",]', "invalid JSON at line 1"),
        ("object.json", '{"title": "x"}', "expected a JSON array"),
        ("empty.csv", "", "empty file"),
        ("latin1.csv", b"title\n\xe9t\xe9\n", "not UTF-8"),
    ],
)
async def test_unreadable_files(
    offline: SessionFactory, tmp_path: Path, name: str, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    with pytest.raises(ImportFileError, match=message):
        await import_file(offline, kind="kb", path=path, tenant_id=None)


async def test_format_is_sniffed_without_known_extension(
    factory: SessionFactory, tmp_path: Path
) -> None:
    as_json = write(tmp_path, "kb.txt", ' \n[{"title": "From JSON"}]')
    as_csv = write(tmp_path, "kb.export", "title\nFrom CSV\n")
    for path in (as_json, as_csv):
        assert (await import_file(factory, kind="kb", path=path, tenant_id=None)).imported == 1
    assert await count(factory, KBArticle) == 2


# CLI: through the Typer app, with the database given in the environment.


def run_cli(url: str, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(imports.app, list(args), env={"DATABASE_URL": url})
    return result.exit_code, result.stdout, result.stderr


def add_tenants(url: str, *tenant_ids: str) -> None:
    async def go() -> None:
        engine = make_engine(make_settings(Path("/nonexistent"), database_url=url))
        async with transaction(make_session_factory(engine)) as session:
            for tenant_id in tenant_ids:
                session.add(
                    TenantConfig(
                        tenant_id=tenant_id,
                        base_url="https://sdp.example",
                        api_key="x",
                        webhook_secret="y",
                    )
                )
        await engine.dispose()

    asyncio.run(go())


def test_cli_imports_kb_and_reports_unknown_columns(db_url: str, tmp_path: Path) -> None:
    path = write(tmp_path, "kb.csv", KB_CSV)
    code, out, err = run_cli(db_url, "kb", str(path))
    assert code == 0
    assert out == f"Imported 2 kb articles from {path}\n"
    assert "warning: ignored unknown column 'colour'" in err


def test_cli_defaults_to_the_only_tenant(db_url: str, tmp_path: Path) -> None:
    add_tenants(db_url, "acme")
    path = write(tmp_path, "a.json", ASSETS[:1])
    assert run_cli(db_url, "assets", str(path)) == (0, f"Imported 1 asset from {path}\n", "")


@pytest.mark.parametrize("tenants", [(), ("acme", "globex")])
def test_cli_needs_tenant_id_unless_exactly_one_exists(
    db_url: str, tmp_path: Path, tenants: tuple[str, ...]
) -> None:
    add_tenants(db_url, *tenants)
    code, _out, err = run_cli(db_url, "networks", str(write(tmp_path, "n.csv", NETWORKS_CSV)))
    assert code == 2
    assert "--tenant-id" in err and "required" in err
    code, out, _err = run_cli(db_url, "networks", str(tmp_path / "n.csv"), "--tenant-id", "globex")
    assert (code, out) == (0, f"Imported 2 networks from {tmp_path / 'n.csv'}\n")


def test_cli_bad_row_exits_1_with_line_numbers(db_url: str, tmp_path: Path) -> None:
    add_tenants(db_url, "acme")
    path = write(tmp_path, "t.csv", "ticket_id,subject\n1,ok\n2,\n3,fine\n")
    code, out, err = run_cli(db_url, "tickets", str(path), "--tenant-id", "acme")
    assert (code, out) == (1, "")
    assert err == f"line 3: subject: is required\nNothing imported: 1 problem(s) in {path}\n"


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file"), ("[1, 2", "invalid JSON"), ('"x"', "expected a JSON array")],
)
def test_cli_unreadable_file_exits_2(
    sqlite_url: str, tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "kb.json"
    if content is not None:
        path.write_text(content)
    code, out, err = run_cli(sqlite_url, "kb", str(path))
    assert (code, out) == (2, "")
    assert message in err and str(path) in err


def test_cli_unmigrated_database_exits_1(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/empty.db"
    code, _out, err = run_cli(url, "kb", str(write(tmp_path, "kb.csv", KB_CSV)))
    assert code == 1
    assert "Database error" in err and "enhancer migrate" in err
