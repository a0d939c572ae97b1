"""At a cache expiry, the jobs in flight share one read of the tenant and of the LLM switch."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from src.config import Settings
from src.database.crypto import SecretBox
from src.database.migrate import upgrade
from src.database.repositories import flags
from src.database.session import make_engine, make_session_factory, transaction
from src.database.tenant_cache import TenantCache
from src.errors import NotFoundError
from src.workers.switches import LLM_FLAG, CachedFlag
from tests.integration.harness import add_tenant_record


async def _counted_reads(settings: Settings) -> tuple[int, int, int, list[str]]:
    engine = make_engine(settings)
    selects: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    factory = make_session_factory(engine)
    box = SecretBox(settings.encryption_key)
    try:
        async with transaction(factory) as session:
            await flags.set_flag(session, name=LLM_FLAG, value=True)
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        cache = TenantCache(factory, box, ttl=60.0)
        tenants = await asyncio.gather(*(cache.get("acme") for _ in range(50)))
        assert {t.api_key for t in tenants} == {"key-1"}
        tenant_reads = len(selects)

        results = await asyncio.gather(
            *(cache.get("nobody") for _ in range(20)), return_exceptions=True
        )
        assert all(isinstance(r, NotFoundError) for r in results)
        unknown_reads = len(selects) - tenant_reads

        switch = CachedFlag(factory, LLM_FLAG, ttl_seconds=60.0)
        values = await asyncio.gather(*(switch() for _ in range(50)))
        assert set(values) == {True}
        flag_reads = len(selects) - tenant_reads - unknown_reads
        return tenant_reads, unknown_reads, flag_reads, selects
    finally:
        await engine.dispose()


def test_concurrent_callers_share_one_read(settings: Settings, tmp_path: Path) -> None:
    upgrade(settings.database_url)
    add_tenant_record(settings, base_url="http://127.0.0.1:9/", api_key="key-1")
    tenant_reads, unknown_reads, flag_reads, selects = asyncio.run(_counted_reads(settings))
    assert (tenant_reads, unknown_reads, flag_reads) == (1, 1, 1), selects


def test_a_cancelled_caller_does_not_cancel_the_shared_read(settings: Settings) -> None:
    upgrade(settings.database_url)
    add_tenant_record(settings, base_url="http://127.0.0.1:9/", api_key="key-2")

    async def scenario() -> str:
        engine = make_engine(settings)
        factory = make_session_factory(engine)
        box = SecretBox(settings.encryption_key)
        try:
            cache = TenantCache(factory, box, ttl=60.0)
            first = asyncio.ensure_future(cache.get("acme"))
            second = asyncio.ensure_future(cache.get("acme"))
            await asyncio.sleep(0)
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
            return (await second).api_key
        finally:
            await engine.dispose()

    assert asyncio.run(scenario()) == "key-2"
