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


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return _respond(exc.status, exc.code, exc.message, exc.errors, exc.headers)


async def _validation_failed(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ValidationFailed)
    return _respond(422, "validation_failed", str(exc), exc.errors)


async def _not_found(_: Request, exc: Exception) -> JSONResponse:
    return _respond(404, "not_found", str(exc))


async def _database_unavailable(_: Request, exc: Exception) -> JSONResponse:
    log.error("database_error", error=f"Database connection lost: {exc}"[:500])
    return _respond(
        503, "database_unavailable", "Database connection lost; nothing was recorded, retry later"
    )


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
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(ValidationFailed, _validation_failed)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(SQLAlchemyError, _database_unavailable)
