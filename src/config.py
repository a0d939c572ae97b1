"""Settings: the only reader of the environment (and of ``.env``).

Every setting is an environment variable of the same name in upper case. ``load_settings``
turns pydantic's validation errors into a ``ConfigError`` that names each bad variable, so a
typo stops start-up with a message an operator can act on.
"""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from src.errors import ConfigError

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]


class Settings(BaseSettings):
    """All configuration of the service; see README for the meaning of each variable."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    database_url: str = "sqlite+aiosqlite:///./var/enhancer.db"
    var_dir: Path = Path("./var")
    secret_key: SecretStr | None = None
    admin_api_token: SecretStr | None = None
    log_level: LogLevel = "INFO"
    log_json: bool = True

    openrouter_api_key: SecretStr | None = None
    openrouter_base_url: str = "https://openrouter.ai/api/v1"
    llm_model: str = "openai/gpt-4o-mini"
    llm_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    llm_max_tokens: int = Field(default=700, gt=0, le=32000)
    disable_llm_synthesis: bool = False
    breaker_fail_max: int = Field(default=5, ge=1)
    breaker_reset_seconds: float = Field(default=60.0, gt=0)

    context_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    similar_tickets_limit: int = Field(default=5, ge=1, le=50)
    kb_results_limit: int = Field(default=5, ge=1, le=50)

    sdp_timeout_seconds: float = Field(default=30.0, gt=0, le=300)
    sdp_max_retries: int = Field(default=3, ge=0, le=10)
    sdp_retry_base_delay: float = Field(default=0.5, ge=0)
    sdp_retry_max_delay: float = Field(default=30.0, ge=0)
    verify_ssl: bool = True

    webhook_max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    webhook_signature_tolerance_seconds: int = Field(default=300, ge=1)
    tenant_cache_seconds: float = Field(default=10.0, ge=0, le=3600)

    embedded_worker: bool = True
    worker_concurrency: int = Field(default=100, ge=1, le=10000)
    worker_poll_seconds: float = Field(default=1.0, gt=0)
    job_lease_seconds: float = Field(default=300.0, gt=0)
    enhancement_max_retries: int = Field(default=3, ge=0, le=20)
    enhancement_retry_delay: float = Field(default=60.0, ge=0)

    redis_url: str | None = None
    celery_broker_url: str | None = None
    dispatcher_batch_size: int = Field(default=500, ge=1, le=10000)
    dispatcher_poll_seconds: float = Field(default=1.0, gt=0)
    reconcile_interval_seconds: float = Field(default=30.0, gt=0)
    reconcile_pending_after_seconds: float = Field(default=120.0, gt=0)

    db_pool_size: int = Field(default=10, ge=1)
    db_max_overflow: int = Field(default=20, ge=0)
    db_pool_recycle: int = Field(default=1800, ge=-1)

    # Operations (health checks, metrics, runtime switches)
    prometheus_multiproc_dir: Path | None = None
    health_check_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    runtime_flag_cache_seconds: float = Field(default=5.0, ge=0, le=300)

    # Outbound ITSM
    servicenow_instance: str | None = None
    servicenow_username: str | None = None
    servicenow_password: SecretStr | None = None
    servicenow_timeout: float = Field(default=30.0, gt=0, le=300)
    jira_url: str | None = None
    jira_email: str | None = None
    jira_api_token: SecretStr | None = None
    jira_timeout: float = Field(default=30.0, gt=0, le=300)
    itsm_max_retries: int = Field(default=3, ge=0, le=10)
    itsm_retry_delay: float = Field(default=1.0, ge=0, le=60)
    itsm_retry_backoff: float = Field(default=2.0, ge=1, le=10)
    itsm_retry_max_delay: float = Field(default=60.0, ge=0, le=600)
    itsm_total_timeout: float = Field(default=60.0, gt=0, le=600)
    itsm_config_path: Path | None = None
    itsm_sync_interval_seconds: float = Field(default=300.0, gt=0)

    @field_validator("servicenow_instance", "jira_url")
    @classmethod
    def _itsm_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if "://" not in value:
            value = f"https://{value}"
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be a host name or an http:// or https:// URL")
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("openrouter_base_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

    @field_validator("admin_api_token", "secret_key")
    @classmethod
    def _strong_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters")
        return value

    @property
    def is_sqlite(self) -> bool:
        """True on the embedded default database."""
        return self.database_url.startswith("sqlite")

    @property
    def broker_url(self) -> str | None:
        """Celery broker: ``CELERY_BROKER_URL``, else ``REDIS_URL``; None when embedded."""
        return self.celery_broker_url or self.redis_url

    @property
    def llm_enabled(self) -> bool:
        """True when synthesis may call the LLM (a key is set and it is not disabled)."""
        return self.openrouter_api_key is not None and not self.disable_llm_synthesis

    @cached_property
    def encryption_key(self) -> bytes:
        """Key that encrypts tenant API keys at rest.

        ``SECRET_KEY`` when set; otherwise a key generated once under ``VAR_DIR`` so the
        embedded default needs no setup.
        """
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.var_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, raising ``ConfigError`` naming each bad variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]).upper() if err["loc"] else "?"
            problems.append(f"{name}: {err['msg']}")
        raise ConfigError("Invalid configuration: " + "; ".join(problems)) from exc
