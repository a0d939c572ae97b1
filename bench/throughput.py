"""Worker throughput with a 2 s fake LLM, on either deployment, every part in its own process.

* ``--mode embedded``: ``enhancer serve`` (SQLite + in-process pool, ``WORKER_CONCURRENCY``).
* ``--mode celery``: ``enhancer serve`` (PostgreSQL, dispatcher) + ONE ``enhancer worker``
  process on a private redis-server.

Baseline, measured in the same run: the same number of calls sent straight to the fake LLM at
the same concurrency, i.e. the ceiling the LLM latency allows. Prints steady-state
enhancements/s (10th-90th percentile of completion times), its ratio to the baseline, peak jobs
in flight and the peak RSS of the process running the jobs. Targets: ≥ 40/s, ≥ 80 in flight,
RSS < 300 MB. It also prints how long a fixed Python loop took before and after the run, so a
slow spell of the machine can be told from a slower product.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from sqlalchemy import func, select

from src.database.models import EnhancementHistory as H
from src.database.session import make_engine, make_session_factory
from tests.conftest import make_settings, scratch_database
from tests.integration.harness import WEBHOOK_SECRET
from tests.integration.scaled import free_port, private_redis, worker_env

BIN = Path(sys.executable).parent
WARMUP_JOBS = 20


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of ``pid`` and its children so far."""
    total = 0.0
    for proc in [pid, *_children(pid)]:
        try:
            fields = Path(f"/proc/{proc}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        for child in map(int, children):
            found += [child, *_children(child)]
    return found


def _machine_speed() -> float:
    """CPU seconds of a fixed 10-million-step Python loop: how fast this machine is right now.

    This machine's speed drifts by up to two times within an hour; printed beside the results,
    it tells a slow spell from a slower product.
    """
    started = time.process_time()
    total = 0
    for step in range(10_000_000):
        total += step
    return time.process_time() - started


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _direct_baseline(llm: str, jobs: int, concurrency: int) -> float:
    sem = asyncio.Semaphore(concurrency)
    # Eight clients in turn: httpcore's pool costs grow with the square of its open connections,
    # and one pool alone caps near 32 calls/s here, well under what the latency allows.
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    clients = [httpx.AsyncClient(base_url=llm, timeout=60, limits=limits) for _ in range(8)]

    async def one(n: int) -> None:
        async with sem:
            body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
            (await clients[n % 8].post("/chat/completions", json=body)).raise_for_status()

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(jobs)))
    elapsed = time.perf_counter() - started
    for client in clients:
        await client.aclose()
    return jobs / elapsed


async def _send(api: str, jobs: int, first: int = 100000) -> float:
    sem = asyncio.Semaphore(32)
    async with httpx.AsyncClient(base_url=api, timeout=60) as client:

        async def one(i: int) -> None:
            async with sem:
                r = await client.post(
                    "/webhooks/servicedesk/acme",
                    json={"ticket_id": str(first + i)},
                    headers={"X-Webhook-Secret": WEBHOOK_SECRET},
                )
                assert r.status_code == 202, r.text

        started = time.perf_counter()
        await asyncio.gather(*(one(i) for i in range(jobs)))
        return jobs / (time.perf_counter() - started)


async def _watch(settings: object, jobs: int, pid: int, *, skip: int = 0) -> dict[str, float]:
    """Wait for ``skip + jobs`` jobs to end; statistics over the last ``jobs`` completions."""
    engine = make_engine(settings)  # type: ignore[arg-type]
    factory = make_session_factory(engine)
    peak_in_flight, peak_rss = 0, 0.0
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        async with factory() as session:
            counts = dict(
                (await session.execute(select(H.status, func.count()).group_by(H.status))).all()
            )
        peak_in_flight = max(peak_in_flight, counts.get("processing", 0))
        peak_rss = max(peak_rss, _rss_mb(pid))
        if counts.get("completed", 0) + counts.get("failed", 0) >= skip + jobs:
            break
        await asyncio.sleep(0.25)
    async with factory() as session:
        done = sorted(
            (await session.scalars(select(H.completed_at).where(H.status == "completed"))).all()
        )[skip:]
        fallbacks = await session.scalar(select(func.count()).where(H.used_fallback.is_(True)))
        reasons = (
            await session.execute(
                select(H.fallback_reason, func.count())
                .where(H.used_fallback.is_(True))
                .group_by(H.fallback_reason)
            )
        ).all()
    for reason, count in reasons:
        print(f"  fallback x{count}: {reason}", file=sys.stderr)
    await engine.dispose()
    lo, hi = done[len(done) // 10], done[(len(done) * 9) // 10]
    span = (hi - lo).total_seconds()
    return {
        "steady": (len(done) * 8 // 10) / span if span > 0 else float("nan"),
        "completed": len(done),
        "peak_in_flight": peak_in_flight,
        "peak_rss": peak_rss,
        "fallbacks": fallbacks or 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mode", choices=["embedded", "celery"], default="embedded")
    parser.add_argument("--jobs", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=160)
    parser.add_argument("--llm-latency", type=float, default=2.0)
    args = parser.parse_args()
    procs: list[subprocess.Popen[bytes]] = []
    speed_before = _machine_speed()
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        fakes = subprocess.Popen(
            [
                str(BIN / "python"),
                "-m",
                "tests.fakes.standalone",
                "--llm-latency",
                str(args.llm_latency),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        procs.append(fakes)
        assert fakes.stdout is not None
        urls = json.loads(fakes.stdout.readline())
        overrides: dict[str, object] = {
            "openrouter_api_key": "sk-bench-0123456789",
            "openrouter_base_url": urls["llm"],
            "worker_concurrency": args.concurrency,
            "log_level": "WARNING",
        }
        if args.mode == "celery":
            redis_server = stack.enter_context(private_redis(Path(tmp)))
            overrides.update(
                database_url=stack.enter_context(scratch_database("enhancer_bench")),
                redis_url=redis_server.url,
                embedded_worker=False,
                dispatcher_poll_seconds=0.05,
            )
        settings = make_settings(Path(tmp), **overrides)
        env = worker_env(settings)

        def run(*command: str) -> None:
            subprocess.run(
                [str(BIN / "enhancer"), *command], env=env, check=True, capture_output=True
            )

        try:
            run("migrate")
            run(
                "tenants",
                "add",
                "acme",
                "--base-url",
                urls["sdp"],
                "--api-key",
                urls["sdp_key"],
                "--webhook-secret",
                WEBHOOK_SECRET,
            )
            port = free_port()
            quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
            api = subprocess.Popen(
                [str(BIN / "enhancer"), "serve", "--port", str(port), "--no-migrate"],
                env=env,
                **quiet,
            )  # type: ignore[call-overload]
            procs.append(api)
            runner_pid = api.pid
            if args.mode == "celery":
                worker = subprocess.Popen(
                    [str(BIN / "enhancer"), "worker", "--concurrency", str(args.concurrency)],
                    env=env,
                    **quiet,
                )  # type: ignore[call-overload]
                procs.append(worker)
                runner_pid = worker.pid
            api_url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"{api_url}/health", timeout=1)
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
            time.sleep(3)  # let the worker connect
            baseline = asyncio.run(_direct_baseline(urls["llm"], args.jobs, args.concurrency))
            # Warm up (lazy imports, connection pools) so the numbers are steady state.
            asyncio.run(_send(api_url, WARMUP_JOBS, first=900000))
            asyncio.run(_watch(settings, WARMUP_JOBS, runner_pid))
            cpu_before = _cpu_seconds(runner_pid)
            intake = asyncio.run(_send(api_url, args.jobs))
            result = asyncio.run(_watch(settings, args.jobs, runner_pid, skip=WARMUP_JOBS))
            cpu_ms_per_job = (_cpu_seconds(runner_pid) - cpu_before) * 1000 / args.jobs
        finally:
            for proc in reversed(procs):
                proc.terminate()
                proc.wait(timeout=15)
    print(
        f"[{args.mode}] {args.jobs} jobs, concurrency {args.concurrency}, "
        f"LLM latency {args.llm_latency}s"
    )
    print(
        f"[{args.mode}] machine speed: 10 million additions in a Python function took "
        f"{speed_before:.2f} s before the run and {_machine_speed():.2f} s after"
    )
    print(f"[{args.mode}] baseline (direct LLM calls, same concurrency): {baseline:.1f}/s")
    print(
        f"[{args.mode}] steady state {result['steady']:.1f} enhancements/s "
        f"(ratio {result['steady'] / baseline:.2f} of baseline; target ≥ 40/s), "
        f"peak in flight {result['peak_in_flight']:.0f} (target ≥ 80), "
        f"peak RSS {result['peak_rss']:.0f} MB (target < 300), "
        f"completed {result['completed']:.0f}/{args.jobs}, fallbacks {result['fallbacks']:.0f}, "
        f"intake {intake:.0f} webhooks/s at 32 concurrent"
    )
    print(
        f"[{args.mode}] CPU of the process running the jobs: {cpu_ms_per_job:.1f} ms per job "
        f"(one core allows {1000 / cpu_ms_per_job:.0f} jobs/s)"
    )


if __name__ == "__main__":
    main()
