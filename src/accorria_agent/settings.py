"""One typed settings object, read from the environment (and an optional ``.env``).

Names are the ones operators already use (``FACEBOOK_APP_SECRET``, ``DATABASE_URL`` …). In production
(``ACCORRIA_ENV=production``, the default for ``serve``) :meth:`Settings.problems_for_production` lists
every missing or placeholder secret so that the process refuses to start with one clear line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

# Values copied from examples and tutorials; a production process must never run with them.
KNOWN_PLACEHOLDERS = frozenset(
    {
        "",
        "changeme",
        "change-me",
        "secret",
        "your-secret",
        "your_app_secret",
        "your-app-secret",
        "your_verify_token",
        "your-verify-token",
        "your_jwt_secret",
        "your-jwt-secret",
        "your_encryption_key",
        "xxx",
        "todo",
        "test",
        "demo",
        "placeholder",
    }
)

DEFAULT_DATA_DIR = Path("./data")


class Settings(BaseSettings):
    """Every setting of the service. Secrets are ``SecretStr`` so they never print by accident."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    accorria_env: Literal["development", "production", "test"] = Field(
        default="development", alias="ACCORRIA_ENV"
    )

    facebook_app_id: str = Field(default="", alias="FACEBOOK_APP_ID")
    facebook_app_secret: SecretStr = Field(default=SecretStr(""), alias="FACEBOOK_APP_SECRET")
    facebook_verify_token: SecretStr = Field(default=SecretStr(""), alias="FACEBOOK_VERIFY_TOKEN")
    facebook_graph_version: str = Field(default="v23.0", alias="FACEBOOK_GRAPH_VERSION")
    facebook_graph_url: str = Field(default="https://graph.facebook.com", alias="FACEBOOK_GRAPH_URL")
    # A Send API call slower than this is treated as transient and retried (the echo reconciles a late one).
    facebook_graph_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, alias="FACEBOOK_GRAPH_TIMEOUT_SECONDS"
    )

    database_url: str = Field(default="", alias="DATABASE_URL")
    redis_url: str = Field(default="", alias="REDIS_URL")

    openai_api_key: SecretStr = Field(default=SecretStr(""), alias="OPENAI_API_KEY")
    openai_base_url: str = Field(default="", alias="OPENAI_BASE_URL")
    openai_model: str = Field(default="gpt-4o-mini", alias="OPENAI_MODEL")
    openai_timeout_seconds: float = Field(default=4.0, alias="OPENAI_TIMEOUT_SECONDS")

    accorria_api_url: str = Field(default="https://api.accorria.com", alias="ACCORRIA_API_URL")
    accorria_api_key: SecretStr = Field(default=SecretStr(""), alias="ACCORRIA_API_KEY")

    jwt_secret: SecretStr = Field(default=SecretStr(""), alias="JWT_SECRET")
    encryption_key: SecretStr = Field(default=SecretStr(""), alias="ENCRYPTION_KEY")
    sentry_dsn: str = Field(default="", alias="SENTRY_DSN")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")

    data_dir: Path = Field(default=DEFAULT_DATA_DIR, alias="ACCORRIA_DATA_DIR")
    webhook_max_body_bytes: int = Field(default=256 * 1024, alias="WEBHOOK_MAX_BODY_BYTES")
    # Buyers often send a burst ("hi" / "is it available" / "would you take 9k"): wait this long
    # after the first message so that one coherent reply answers all of them.
    reply_quiet_period_seconds: float = Field(default=2.0, alias="REPLY_QUIET_PERIOD_SECONDS")
    human_like_delays: bool = Field(default=True, alias="HUMAN_LIKE_DELAYS")
    worker_concurrency: int = Field(default=4, alias="WORKER_CONCURRENCY")
    # auto: procrastinate on PostgreSQL, the embedded queue on SQLite.
    job_queue: Literal["auto", "embedded", "procrastinate"] = Field(default="auto", alias="JOB_QUEUE")
    default_timezone: str = Field(default="America/Detroit", alias="ACCORRIA_DEFAULT_TIMEZONE")
    # The worker's own /metrics (``accorria-agent worker --metrics-port``); None = not served.
    worker_metrics_port: int | None = Field(default=None, ge=0, le=65535, alias="WORKER_METRICS_PORT")
    worker_metrics_host: str = Field(default="0.0.0.0", alias="WORKER_METRICS_HOST")  # noqa: S104

    @property
    def effective_database_url(self) -> str:
        """``DATABASE_URL``, or the embedded SQLite file under the data directory."""
        if self.database_url:
            return normalise_database_url(self.database_url)
        return f"sqlite+aiosqlite:///{(self.data_dir / 'accorria.db').as_posix()}"

    @property
    def graph_base_url(self) -> str:
        """``{FACEBOOK_GRAPH_URL}/{FACEBOOK_GRAPH_VERSION}`` without a trailing slash."""
        return f"{self.facebook_graph_url.rstrip('/')}/{self.facebook_graph_version}"

    def problems_for_production(self) -> list[str]:
        """One line per secret that ``serve`` needs and lacks (missing or a known placeholder)."""
        required: dict[str, SecretStr | str] = {
            "FACEBOOK_APP_ID": self.facebook_app_id,
            "FACEBOOK_APP_SECRET": self.facebook_app_secret,
            "FACEBOOK_VERIFY_TOKEN": self.facebook_verify_token,
            "JWT_SECRET": self.jwt_secret,
            "ENCRYPTION_KEY": self.encryption_key,
            "DATABASE_URL": self.database_url,
        }
        problems = []
        for name, value in required.items():
            raw = value.get_secret_value() if isinstance(value, SecretStr) else value
            if raw.strip().lower() in KNOWN_PLACEHOLDERS:
                state = "missing" if not raw.strip() else "a known placeholder"
                problems.append(f"{name} is {state}; set it in the environment")
        if self.jwt_secret.get_secret_value() and len(self.jwt_secret.get_secret_value()) < 32:
            problems.append("JWT_SECRET is too short; use at least 32 random characters")
        return problems


def normalise_database_url(url: str) -> str:
    """Map plain ``postgresql://`` / ``sqlite://`` URLs to their async drivers."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        return "postgresql+asyncpg://" + url[len("postgresql://") :]
    if url.startswith("sqlite:///"):
        return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
    return url
