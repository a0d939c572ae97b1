"""Monitoring assets: promtool unit tests for the alert rules; metric names are real."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from src.observability import metrics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
IN_CI = os.environ.get("CI", "").lower() == "true"


def _defined_metric_names() -> set[str]:
    names = set()
    for value in vars(metrics).values():
        describe = getattr(value, "describe", None)
        if callable(describe) and hasattr(value, "_name"):
            for family in describe():
                names.add(family.name)
                names.update(f"{family.name}{s}" for s in ("_total", "_bucket", "_count", "_sum"))
    return names | {metrics.QUEUE_DEPTH, metrics.OLDEST_PENDING}


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        if IN_CI:
            pytest.fail("promtool is required in CI: make promtool (apt-get install prometheus)")
        pytest.skip("promtool not installed (make promtool)")
    return found


def test_alert_rules_pass_their_promtool_unit_tests() -> None:
    promtool = _promtool()
    rules = subprocess.run(
        [promtool, "check", "rules", str(DEPLOY / "prometheus/alert_rules.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert rules.returncode == 0, rules.stdout + rules.stderr
    tests = sorted(str(p) for p in (DEPLOY / "prometheus/tests").glob("*.yml"))
    assert tests
    result = subprocess.run(
        [promtool, "test", "rules", *tests], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_rules_and_dashboard_use_only_defined_metrics() -> None:
    defined = _defined_metric_names()
    rules = (DEPLOY / "prometheus/alert_rules.yml").read_text()
    dashboard = json.loads((DEPLOY / "grafana/dashboards/enhancer.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    used = set(re.findall(r"\b((?:enhancement|itsm|llm|http|outbound|circuit)_[a-z_]+)", rules))
    for expr in exprs:
        used |= set(re.findall(r"\b((?:enhancement|itsm|llm|http|outbound|circuit)_[a-z_]+)", expr))
    assert used - defined == set()
    assert len(exprs) >= 7


def test_compose_runs_the_real_start_commands() -> None:
    yaml = pytest.importorskip("yaml")
    services = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]
    assert set(services) == {"api", "worker", "beat", "postgres", "redis", "prometheus", "grafana"}
    assert "enhancer serve --host 0.0.0.0" in services["api"]["command"]
    assert services["worker"]["command"].startswith("celery -A src.workers.celery_app worker")
    assert services["beat"]["command"].startswith("celery -A src.workers.celery_app beat")
    assert (ROOT / "src/workers/celery_app.py").exists()


def test_compose_passes_every_setting_and_lets_workers_scale() -> None:
    yaml = pytest.importorskip("yaml")
    services = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]
    for name in ("api", "worker", "beat"):
        # deploy/.env reaches every process, not only the keys listed under x-app.environment.
        assert services[name]["env_file"] == [{"path": ".env", "required": False}], name
    # A fixed container name would make `up --scale worker=N` fail.
    assert "container_name" not in services["worker"]
