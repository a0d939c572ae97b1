"""The baseline for the intake benchmark: a bare FastAPI JSON endpoint."""

from __future__ import annotations

from fastapi import FastAPI, Request

app = FastAPI()


@app.post("/webhooks/servicedesk/{tenant_id}", status_code=202)
async def bare(tenant_id: str, request: Request) -> dict[str, str]:
    body = await request.json()
    return {"tenant_id": tenant_id, "ticket_id": str(body.get("ticket_id")), "status": "pending"}
