"""HTTP error responses, in one shape: ``{"detail", "code", "errors": [{field, code, message}]}``.

Errors are mapped to HTTP here, once: routes raise ``ApiError`` or the domain errors of
``src.errors`` and these handlers turn them into responses.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from src.errors import FieldError, NotFoundError, ValidationFailed
from src.logging import get_logger

log = get_logger(__name__)


class ApiError(Exception):
    """An error response with a status, a machine-readable code and a message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        errors: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = errors or []
        self.headers = headers


def error_body(code: str, message: str, errors: list[FieldError] | None = None) -> dict[str, Any]:
    """The JSON body of every error response."""
    return {"detail": message, "code": code, "errors": [e.as_dict() for e in errors or []]}


def _respond(
    status: int,
    code: str,
    message: str,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return JSONResponse(error_body(code, message, errors), status_code=status, headers=headers)


def known_error(exc: Exception) -> tuple[int, dict[str, Any], dict[str, str] | None] | None:
    """Status, body and headers for the errors routes raise; None for anything else."""
    if isinstance(exc, ApiError):
        return exc.status, error_body(exc.code, exc.message, exc.errors), exc.headers
    if isinstance(exc, ValidationFailed):
        return 422, error_body("validation_failed", str(exc), exc.errors), None
    if isinstance(exc, NotFoundError):
        return 404, error_body("not_found", str(exc)), None
    if isinstance(exc, SQLAlchemyError):
        log.error("database_error", error=f"Database connection lost: {exc}"[:500])
        message = "Database connection lost; nothing was recorded, retry later"
        return 503, error_body("database_unavailable", message), None
    return None


async def _known(_: Request, exc: Exception) -> JSONResponse:
    mapped = known_error(exc)
    assert mapped is not None, f"no handler for {type(exc).__name__}"
    status, body, headers = mapped
    return JSONResponse(body, status_code=status, headers=headers)


async def _request_validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        FieldError(".".join(str(p) for p in e["loc"] if p != "body"), e["type"], e["msg"])
        for e in exc.errors()
    ]
    return _respond(422, "validation_failed", "Invalid request", errors)


async def _http_exception(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    headers = dict(exc.headers) if exc.headers else None
    return _respond(exc.status_code, code, str(exc.detail), headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    for known in (ApiError, ValidationFailed, NotFoundError, SQLAlchemyError):
        app.add_exception_handler(known, _known)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
