"""Pipeline benchmarks on the embedded default (SQLite + in-process worker), local fakes only.

1. Context phase: three sources sleeping 30/60/120 ms. Baseline = the slowest source's sleep,
   measured in this run; reports the context phase's overhead over it (target ≤ 20 ms).
2. Worker throughput: the fake LLM answers in 2 s. Baseline = the same number of requests sent
   straight to the fake LLM at the same concurrency (the ceiling the LLM latency allows);
   reports enhancements/s, the ratio to that ceiling and peak jobs in flight
   (targets ≥ 40/s, ≥ 80 in flight).

Run: ``make bench`` or ``.venv/bin/python -m bench.pipeline [--jobs N] [--concurrency C]``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

from src.context import IPLookupResult, KBArticle, SimilarTicket
from src.database.migrate import upgrade
from src.nodes.sources import ContextRequest, ContextSources
from tests.conftest import make_settings
from tests.fakes.llm import running_llm
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


async def _direct_llm_baseline(base_url: str, jobs: int, concurrency: int) -> float:
    sem = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=60, limits=limits) as client:

        async def one() -> None:
            async with sem:
                body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
                (await client.post("/chat/completions", json=body)).raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(jobs)))
        return jobs / (time.perf_counter() - started)


def bench_throughput(jobs: int, concurrency: int, llm_latency: float = 2.0) -> None:
    with tempfile.TemporaryDirectory() as tmp, running_sdp() as sdp, running_llm() as llm:
        llm.state.latency_seconds = llm_latency
        baseline = asyncio.run(_direct_llm_baseline(llm.base_url, jobs, concurrency))
        llm.state.calls.clear()
        settings = make_settings(
            Path(tmp),
            openrouter_api_key="sk-bench-0123456789",
            openrouter_base_url=llm.base_url,
            worker_concurrency=concurrency,
            worker_poll_seconds=0.05,
        )
        upgrade(settings.database_url)
        add_tenant(settings, sdp)
        tickets = [
            sdp.state.add_request(f"VPN drop {i}", description="10.20.30.40") for i in range(jobs)
        ]
        with running_api(settings) as api:
            started = time.perf_counter()
            cids = [api.webhook(t).json()["correlation_id"] for t in tickets]
            intake_s = time.perf_counter() - started
            peak = 0
            while True:
                queue = api.client.get("/health").json()["queue"]
                peak = max(peak, int(queue["in_flight"]))
                done = api.admin_get("/api/v1/enhancements", status="completed", limit=500)
                failed = api.admin_get("/api/v1/enhancements", status="failed", limit=500)
                if (
                    len(done.json()) + len(failed.json()) >= len(cids)
                    or time.perf_counter() - started > 300
                ):
                    break
                time.sleep(0.2)
            rows = [api.history(c) for c in cids]
    completed = sorted(r["completed_at"] for r in rows if r["status"] == "completed")
    lo, hi = completed[len(completed) // 10], completed[(len(completed) * 9) // 10]
    span = (datetime.fromisoformat(hi) - datetime.fromisoformat(lo)).total_seconds()
    steady = (len(completed) * 8 // 10) / span if span > 0 else float("nan")
    fallbacks = sum(1 for r in rows if r["used_fallback"])
    print(f"[throughput] {jobs} jobs, concurrency {concurrency}, LLM latency {llm_latency}s")
    print(f"[throughput] baseline (direct LLM calls at same concurrency): {baseline:.1f}/s")
    print(
        f"[throughput] embedded worker steady state: {steady:.1f} enhancements/s "
        f"(ratio to baseline {steady / baseline:.2f}; target ≥ 40/s), peak in flight {peak} "
        f"(target ≥ 80), completed {len(completed)}/{jobs}, fallbacks {fallbacks}, "
        f"webhook intake {jobs / intake_s:.0f}/s sequential"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=160)
    parser.add_argument("--skip-context", action="store_true")
    args = parser.parse_args()
    if not args.skip_context:
        bench_context_phase()
    bench_throughput(args.jobs, args.concurrency)


if __name__ == "__main__":
    main()
