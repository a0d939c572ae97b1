"""The scaled deployment under test: private Redis servers and Celery worker processes.

Each test gets its own ``redis-server`` on a free 127.0.0.1 port (no persistence), so it can
stop, restart or flush it without touching anything else, and its own PostgreSQL database.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import pytest
import redis

from src.config import Settings
from tests.integration.harness import RunningAPI

IN_CI = os.environ.get("CI", "").lower() == "true"
ENHANCER = str(Path(sys.executable).with_name("enhancer"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PrivateRedis:
    """A redis-server process this test owns."""

    port: int
    workdir: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            if IN_CI:
                pytest.fail("redis-server is required in CI")
            pytest.skip("redis-server not installed")
        self.proc = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1)


@contextmanager
def private_redis(workdir: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(free_port(), workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def worker_env(settings: Settings) -> dict[str, str]:
    """Environment that gives a worker process the same settings as ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENROUTER", "DATABASE"))}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        env[name.upper()] = str(value)
    return env


@dataclass
class Workers:
    """Celery worker processes started with ``enhancer worker``."""

    settings: Settings
    log_dir: Path
    concurrency: int = 50
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    files: list[BinaryIO] = field(default_factory=list)
    started: int = 0

    def start(self, count: int = 1) -> None:
        for _ in range(count):
            log = (self.log_dir / f"worker-{self.started}.log").open("wb")
            self.files.append(log)
            self.started += 1
            self.procs.append(
                subprocess.Popen(
                    [ENHANCER, "worker", "--concurrency", str(self.concurrency)],
                    env=worker_env(self.settings),
                    stdout=log,
                    stderr=log,
                )
            )

    def kill(self) -> None:
        """SIGKILL every worker (no chance to ack, release or record anything)."""
        for proc in self.procs:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        self.procs.clear()

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        self.procs.clear()
        for log in self.files:
            log.close()
        self.files.clear()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in self.log_dir.glob("worker-*.log"))


@contextmanager
def celery_workers(settings: Settings, log_dir: Path, count: int = 1) -> Iterator[Workers]:
    workers = Workers(settings, log_dir)
    workers.start(count)
    try:
        yield workers
    finally:
        workers.stop()


def wait_all(api: RunningAPI, cids: list[str], timeout: float = 60) -> list[dict[str, Any]]:
    """Poll the admin API until every job has ended; fails the test on timeout."""
    deadline = time.monotonic() + timeout
    rows = [api.history(c) for c in cids]
    while any(r["status"] not in ("completed", "failed") for r in rows):
        assert time.monotonic() < deadline, [r["status"] for r in rows]
        time.sleep(0.2)
        rows = [api.history(c) for c in cids]
    return rows
