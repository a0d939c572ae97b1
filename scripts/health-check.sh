#!/usr/bin/env bash
# Print a summary of GET /health/enhancement; exit 0 healthy, 1 degraded, 2 unhealthy/unreachable.
#   scripts/health-check.sh [BASE_URL]        (default: $ENHANCER_URL or http://127.0.0.1:8000)
set -uo pipefail
BASE_URL="${1:-${ENHANCER_URL:-http://127.0.0.1:8000}}"
BODY="$(curl -sS --max-time 10 "${BASE_URL%/}/health/enhancement")" || {
  echo "UNREACHABLE ${BASE_URL%/}/health/enhancement"
  exit 2
}
printf '%s' "$BODY" | python3 -c '
import json, sys
body = json.load(sys.stdin)
print(f"overall: {body[\"status\"]}")
for name, check in body["checks"].items():
    detail = f"  ({check[\"detail\"]})" if check.get("detail") else ""
    print(f"  {name:<12} {check[\"status\"]:<15} {check[\"latency_ms\"]:>5} ms{detail}")
    for tenant, sub in check.get("tenants", {}).items():
        extra = f"  ({sub[\"detail\"]})" if sub.get("detail") else ""
        print(f"    {tenant:<10} {sub[\"status\"]:<15} {sub[\"latency_ms\"]:>5} ms{extra}")
sys.exit({"healthy": 0, "degraded": 1}.get(body["status"], 2))
'
