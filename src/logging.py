"""structlog JSON logging with the correlation ID bound in every line.

``configure_logging`` is called once by each entry point (API, worker, CLI). Code binds the
job's ``correlation_id`` with ``structlog.contextvars.bound_contextvars``; asyncio tasks and
LangGraph nodes copy the context, so every line of a job carries it.
"""

from __future__ import annotations

import json as jsonlib
import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import orjson
import structlog

_SECRET_KEYS = ("api_key", "authtoken", "authorization", "password", "secret", "token")


_SECRET_KEY_SEEN: dict[str, bool] = {}  # key -> looks like a credential (a log has few keys)


def _is_secret_key(key: str) -> bool:
    secret = _SECRET_KEY_SEEN.get(key)
    if secret is None:
        lowered = key.lower()
        secret = key != "correlation_id" and any(marker in lowered for marker in _SECRET_KEYS)
        if len(_SECRET_KEY_SEEN) < 10_000:
            _SECRET_KEY_SEEN[key] = secret
    return secret


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Replace the value of any key that looks like a credential."""
    for key in list(event):
        if _is_secret_key(key):
            event[key] = "***"
    return event


def _dumps(event: Any, default: Any = None, **_: Any) -> str:
    """Render with orjson (a few µs a line); the standard library for what orjson rejects."""
    try:
        return orjson.dumps(event, default=default, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # e.g. an int beyond 64 bits
        return jsonlib.dumps(event, default=default)


class _StderrLogger:
    """Writes each rendered line to whatever ``sys.stderr`` is at the time of writing."""

    def msg(self, message: str) -> None:
        """Write one line."""
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warn = warning = error = critical = exception = fatal = msg


def _stderr_logger_factory(*_: Any) -> _StderrLogger:
    return _StderrLogger()


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler bound to the current ``sys.stderr``, not the one at start-up."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def configure_logging(level: str = "INFO", *, json: bool = True) -> None:
    """Configure structlog and the standard library to write one JSON object per line."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(serializer=_dumps)
        if json
        else structlog.dev.ConsoleRenderer()
    )
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact,
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=_stderr_logger_factory,
        cache_logger_on_first_use=False,
    )
    handler = _StderrHandler()
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.WARNING)
    for noisy in ("httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """Return a logger; ``name`` ends up in the ``logger_name`` field."""
    logger: structlog.stdlib.BoundLogger = structlog.get_logger(logger_name=name)
    return logger
