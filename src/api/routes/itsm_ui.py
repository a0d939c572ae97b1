"""``GET /ui/tickets``: a small page to open a ticket from a template.

Plain HTML and JavaScript, no build step. The page holds no secret: it asks for the admin
token and sends it on each call to the ``/api/v1/tickets`` routes.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter()

_PAGE = Path(__file__).resolve().parents[1] / "ui" / "tickets.html"


@router.get("/ui/tickets", response_class=HTMLResponse, include_in_schema=False)
async def tickets_page() -> HTMLResponse:
    """The ticket-from-template page."""
    return HTMLResponse(
        _PAGE.read_text(encoding="utf-8"),
        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"},
    )
