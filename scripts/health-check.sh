#!/usr/bin/env bash
# Print a summary of GET /health/enhancement; exit 0 healthy, 1 degraded, 2 unhealthy/unreachable.
#   scripts/health-check.sh [BASE_URL]        (default: $ENHANCER_URL or http://127.0.0.1:8000)
set -uo pipefail
BASE_URL="${1:-${ENHANCER_URL:-http://127.0.0.1:8000}}"
URL="${BASE_URL%/}/health/enhancement"
BODY="$(curl -sS --max-time 10 "$URL")" || { echo "UNREACHABLE $URL"; exit 2; }

read -r -d '' SUMMARY <<'PY'
import json, sys

raw = sys.stdin.read()
try:
    body = json.loads(raw)
    body["status"], body["checks"]
except (ValueError, TypeError, KeyError):
    # A proxy's error page or a different service on the port: not a health answer.
    print("UNEXPECTED RESPONSE (not Enhancer's health JSON): " + " ".join(raw.split())[:200])
    sys.exit(2)
print("overall: " + body["status"])


def line(indent, name, check):
    detail = "  (" + check["detail"] + ")" if check.get("detail") else ""
    print("%s%-12s %-15s %5d ms%s" % (indent, name, check["status"], check["latency_ms"], detail))


for name, check in body["checks"].items():
    line("  ", name, check)
    for tenant, sub in check.get("tenants", {}).items():
        line("    ", tenant, sub)
sys.exit({"healthy": 0, "degraded": 1}.get(body["status"], 2))
PY
printf '%s' "$BODY" | python3 -c "$SUMMARY"
