"""The exception tree, the one place errors are defined.

::

    EnhancerError                      anything this product raises on purpose
    ├── ConfigError                    bad settings; start-up stops with the variable named
    ├── ValidationFailed               bad user input (HTTP 4xx, CLI exit 1); carries field errors
    ├── NotFoundError                  a tenant, job or record that does not exist
    ├── FeatureDisabled                an ITSM platform switched off or not configured
    └── ExternalServiceError           something we call (SDP, OpenRouter, ServiceNow, Jira) failed
        ├── RetryableError             worth trying again later
        │   ├── ServiceTimeout         the call timed out or the connection failed
        │   ├── RateLimited            429 / SDP 4015; carries ``retry_after`` seconds
        │   └── Unavailable            5xx
        └── PermanentError             retrying cannot help
            ├── AuthFailed             401 / 403 / SDP 4022 / 4002
            ├── RemoteNotFound         404 / SDP 4007
            └── Rejected               any other 4xx: the request itself is wrong

Clients translate transport and HTTP failures into this tree at their boundary with
``raise ... from exc``; the API maps it to HTTP once (exception handlers) and the worker maps it
to job retry once (``RetryableError`` -> back to ``pending``; anything else -> ``failed``).
"""

from __future__ import annotations

from dataclasses import dataclass


class EnhancerError(Exception):
    """Base of every error this product raises deliberately."""


class ConfigError(EnhancerError):
    """A setting is missing or invalid; the message names the environment variable."""


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one input field."""

    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """Return the JSON shape used by the API and the CLI."""
        return {"field": self.field, "code": self.code, "message": self.message}


class ValidationFailed(EnhancerError):
    """User input is invalid; ``errors`` lists each field problem."""

    def __init__(self, errors: list[FieldError], message: str | None = None) -> None:
        self.errors = errors
        summary = "; ".join(f"{e.field}: {e.message}" for e in errors)
        super().__init__(message or f"Invalid input: {summary}")


class NotFoundError(EnhancerError):
    """A tenant, job or other record does not exist."""


class FeatureDisabled(EnhancerError):
    """An operator switched the feature off, or it is not configured; nothing was sent."""


class ExternalServiceError(EnhancerError):
    """A call to an outside service failed.

    Attributes:
        service: Human name of the service, e.g. ``"ServiceDesk"``.
        status_code: HTTP status when one was received.
        attempts: Calls made before giving up (set by the retry layer; 1 otherwise).
        retry_delay_s: Seconds slept between those calls.
    """

    def __init__(self, message: str, *, service: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.service = service
        self.status_code = status_code
        self.attempts = 1
        self.retry_delay_s = 0.0


class RetryableError(ExternalServiceError):
    """A failure that may succeed if tried again later."""


class ServiceTimeout(RetryableError):
    """The call timed out or could not connect."""


class RateLimited(RetryableError):
    """The service asked us to slow down; ``retry_after`` is in seconds when it said."""

    def __init__(
        self,
        message: str,
        *,
        service: str,
        status_code: int | None = 429,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, service=service, status_code=status_code)
        self.retry_after = retry_after


class Unavailable(RetryableError):
    """The service answered with a server error."""


class PermanentError(ExternalServiceError):
    """A failure that retrying cannot fix."""


class AuthFailed(PermanentError):
    """Credentials were rejected (401/403)."""


class RemoteNotFound(PermanentError):
    """The remote resource does not exist (404)."""


class Rejected(PermanentError):
    """The service rejected the request as invalid (other 4xx).

    ``errors`` holds the per-field reasons when the service gave them (e.g. Jira's
    ``{"errors": {"summary": "..."}}``).
    """

    def __init__(
        self,
        message: str,
        *,
        service: str,
        status_code: int | None = None,
        errors: list[FieldError] | None = None,
    ) -> None:
        super().__init__(message, service=service, status_code=status_code)
        self.errors = errors or []
