"""Context phase benchmark on the embedded default (SQLite + in-process worker), local fakes.

Three sources sleeping 30/60/120 ms. Baseline = the slowest source's sleep, measured in this
run; reports the context phase's overhead over it (target ≤ 20 ms). Worker throughput is
``bench/throughput.py`` (every part in its own process).

Run: ``make bench`` or ``.venv/bin/python -m bench.pipeline [--jobs N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

from src.context import IPLookupResult, KBArticle, SimilarTicket
from src.database.migrate import upgrade
from src.nodes.sources import ContextRequest, ContextSources
from tests.conftest import make_settings
from tests.fakes.sdp import running_sdp
from tests.integration.harness import add_tenant, running_api


def _sleeping_sources(similar_s: float, kb_s: float, ip_s: float) -> ContextSources:
    async def similar(_: ContextRequest) -> tuple[SimilarTicket, ...]:
        await asyncio.sleep(similar_s)
        return ()

    async def kb(_: ContextRequest) -> tuple[KBArticle, ...]:
        await asyncio.sleep(kb_s)
        return ()

    async def ips(_: ContextRequest) -> IPLookupResult:
        await asyncio.sleep(ip_s)
        return IPLookupResult()

    return ContextSources(similar_tickets=similar, kb_search=kb, ip_lookup=ips)


def bench_context_phase(jobs: int = 30) -> None:
    slowest_ms = 120
    with tempfile.TemporaryDirectory() as tmp, running_sdp() as sdp:
        settings = make_settings(Path(tmp), worker_poll_seconds=0.02)
        upgrade(settings.database_url)
        add_tenant(settings, sdp)
        sources = _sleeping_sources(0.03, 0.06, slowest_ms / 1000)
        with running_api(settings, sources=sources) as api:
            overheads = []
            for _ in range(jobs):
                ticket = sdp.state.add_request("Printer offline", description="floor 3")
                row = api.wait_for(api.webhook(ticket).json()["correlation_id"])
                overheads.append(row["context_time_ms"] - slowest_ms)
    print(f"[context] slowest node sleep (baseline): {slowest_ms} ms over {jobs} jobs")
    print(
        f"[context] phase overhead over slowest node: median {statistics.median(overheads):.0f} ms,"
        f" max {max(overheads)} ms  (target ≤ 20 ms)  ratio phase/slowest = "
        f"{(slowest_ms + statistics.median(overheads)) / slowest_ms:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=30)
    args = parser.parse_args()
    bench_context_phase(args.jobs)


if __name__ == "__main__":
    main()
