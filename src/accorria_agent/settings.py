"""One typed settings object, read from the environment (and an optional ``.env``).

Names are the ones operators already use (``FACEBOOK_APP_SECRET``, ``DATABASE_URL`` …). In production
(``ACCORRIA_ENV=production``, the default for ``serve``) :meth:`Settings.problems_for_production` lists
every missing or placeholder secret so that the process refuses to start with one clear line.
"""

from __future__ import annotations

import math
from collections import Counter
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

# Secrets checked for strength in production: (minimum length, minimum estimated entropy in bits).
# Meta's app secrets are 32 hex characters (~115 bits by this estimate); a JWT key must resist offline
# guessing from any issued token.
SECRET_STRENGTH: dict[str, tuple[int, float]] = {
    "FACEBOOK_APP_SECRET": (16, 60.0),
    "FACEBOOK_VERIFY_TOKEN": (16, 50.0),
    "JWT_SECRET": (32, 100.0),
    "METRICS_TOKEN": (24, 80.0),
}


def estimated_entropy_bits(value: str) -> float:
    """A cheap upper estimate of a secret's entropy: length times the Shannon entropy of its characters.

    It cannot see structure (``"abcabcabc…"`` scores well), but it refuses short, repetitive and
    single-character secrets, which is what hand-typed placeholders look like.
    """
    if not value:
        return 0.0
    total = len(value)
    per_char = -sum((n / total) * math.log2(n / total) for n in Counter(value).values())
    return per_char * total


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

    # Facebook Login (connecting Pages): the dialog ("{version}" is replaced by FACEBOOK_GRAPH_VERSION; the
    # demo points it at the simulator's dialog), the callback URL registered in the app (default: this
    # server's /connect/facebook/callback as the request saw it), and how long a state stays valid.
    facebook_login_url: str = Field(
        default="https://www.facebook.com/{version}/dialog/oauth", alias="FACEBOOK_LOGIN_URL"
    )
    facebook_oauth_redirect_url: str = Field(default="", alias="FACEBOOK_OAUTH_REDIRECT_URL")
    facebook_oauth_state_ttl_seconds: int = Field(
        default=600, ge=60, le=3600, alias="FACEBOOK_OAUTH_STATE_TTL_SECONDS"
    )
    # Token health: how often every Page token is checked with debug_token, and how many days before
    # its expiry a Page goes needs_reauth (so the seller reconnects before replies stop).
    token_health_interval_seconds: float = Field(
        default=6 * 3600, ge=0, alias="TOKEN_HEALTH_INTERVAL_SECONDS"
    )
    token_expiry_warning_days: int = Field(default=7, ge=0, le=60, alias="TOKEN_EXPIRY_WARNING_DAYS")

    database_url: str = Field(default="", alias="DATABASE_URL")
    redis_url: str = Field(default="", alias="REDIS_URL")

    openai_api_key: SecretStr = Field(default=SecretStr(""), alias="OPENAI_API_KEY")
    openai_base_url: str = Field(default="", alias="OPENAI_BASE_URL")
    openai_model: str = Field(default="gpt-4o-mini", alias="OPENAI_MODEL")
    openai_timeout_seconds: float = Field(default=4.0, alias="OPENAI_TIMEOUT_SECONDS")

    accorria_api_url: str = Field(default="https://api.accorria.com", alias="ACCORRIA_API_URL")
    accorria_api_key: SecretStr = Field(default=SecretStr(""), alias="ACCORRIA_API_KEY")
    # Escrow (docs/escrow.md): the status webhook's HMAC secret, the API timeout, the webhook timestamp
    # tolerance and the backoff of transaction creation (base × 2^attempt, up to the attempt limit).
    accorria_webhook_secret: SecretStr = Field(default=SecretStr(""), alias="ACCORRIA_WEBHOOK_SECRET")
    accorria_api_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, alias="ACCORRIA_API_TIMEOUT_SECONDS"
    )
    escrow_webhook_tolerance_seconds: int = Field(
        default=300, gt=0, le=86400, alias="ESCROW_WEBHOOK_TOLERANCE_SECONDS"
    )
    escrow_retry_base_seconds: float = Field(default=5.0, ge=0, le=3600, alias="ESCROW_RETRY_BASE_SECONDS")
    escrow_max_attempts: int = Field(default=8, ge=1, le=50, alias="ESCROW_MAX_ATTEMPTS")

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
    # Largest listing photo accepted (bytes, before re-encoding).
    photo_max_bytes: int = Field(default=10_000_000, ge=100_000, le=50_000_000, alias="PHOTO_MAX_BYTES")

    # Accounts (docs/security-accounts.md). Links in account emails start with PUBLIC_BASE_URL.
    public_base_url: str = Field(default="http://127.0.0.1:8000", alias="PUBLIC_BASE_URL")
    # None: Secure cookies in production only (development and tests run over plain http).
    session_cookie_secure: bool | None = Field(default=None, alias="SESSION_COOKIE_SECURE")
    session_idle_minutes: int = Field(default=12 * 60, ge=1, le=30 * 24 * 60, alias="SESSION_IDLE_MINUTES")
    session_max_age_hours: int = Field(default=14 * 24, ge=1, le=90 * 24, alias="SESSION_MAX_AGE_HOURS")
    # Email: smtp://user:pass@host:587 (STARTTLS), smtps://…:465 (implicit TLS); empty = kept in memory.
    smtp_url: SecretStr = Field(default=SecretStr(""), alias="SMTP_URL")
    smtp_starttls: Literal["auto", "required", "off"] = Field(default="auto", alias="SMTP_STARTTLS")
    smtp_timeout_seconds: float = Field(default=10.0, gt=0, le=120, alias="SMTP_TIMEOUT_SECONDS")
    mail_from: str = Field(default="Accorria <no-reply@accorria.local>", alias="MAIL_FROM")

    @property
    def cookies_secure(self) -> bool:
        """Whether session cookies carry ``Secure`` (``SESSION_COOKIE_SECURE``, else production only)."""
        if self.session_cookie_secure is not None:
            return self.session_cookie_secure
        return self.accorria_env == "production"

    # Privacy and hardening (docs/security.md).
    # Buyer message text and raw webhook payloads older than this are purged (rows and counts stay).
    retention_days: int = Field(default=90, ge=1, le=3650, alias="RETENTION_DAYS")
    # In production /metrics answers only ``Authorization: Bearer <METRICS_TOKEN>`` (404 when unset).
    metrics_token: SecretStr = Field(default=SecretStr(""), alias="METRICS_TOKEN")
    # Body limits, enforced before a handler parses anything (the webhook has WEBHOOK_MAX_BODY_BYTES).
    api_max_body_bytes: int = Field(default=64 * 1024, ge=1024, alias="API_MAX_BODY_BYTES")
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, alias="MAX_BODY_BYTES")
    # Test drives: the buyer is reminded this long before the slot (only inside the 24-hour window).
    test_drive_reminder_minutes: int = Field(
        default=120, ge=0, le=7 * 24 * 60, alias="TEST_DRIVE_REMINDER_MINUTES"
    )
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
        problems.extend(self._weak_secrets())
        return problems

    def _weak_secrets(self) -> list[str]:
        """Secrets that are set but too short or too repetitive to be random (``FACEBOOK_APP_SECRET=a``)."""
        values = {
            "FACEBOOK_APP_SECRET": self.facebook_app_secret,
            "FACEBOOK_VERIFY_TOKEN": self.facebook_verify_token,
            "JWT_SECRET": self.jwt_secret,
            "METRICS_TOKEN": self.metrics_token,
        }
        problems = []
        for name, secret in values.items():
            raw = secret.get_secret_value()
            if raw.strip().lower() in KNOWN_PLACEHOLDERS:
                continue  # missing (optional METRICS_TOKEN) or already reported as a placeholder
            min_length, min_bits = SECRET_STRENGTH[name]
            if len(raw) < min_length:
                problems.append(f"{name} is too short; use at least {min_length} random characters")
            elif estimated_entropy_bits(raw) < min_bits:
                problems.append(f"{name} is too weak (repetitive or guessable); use a random value")
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
