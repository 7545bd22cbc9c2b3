"""structlog configuration: JSON lines in production, readable lines in development; secrets redacted.

Buyer message text and tokens are never passed to loggers at info level (callers log sizes and ids). As a
second line of defence every log record is redacted before any handler sees it: token-shaped strings
(Page/user tokens ``EAA…``, ``Bearer …``, ``access_token=…`` and the other OAuth parameters, JWTs, Fernet
ciphertexts) and the configured secrets themselves (app secret, JWT secret, encryption keys). The standard
``logging`` records are redacted in the record factory, so it holds for every logger — httpx, httpcore,
uvicorn, SQLAlchemy — whatever handlers they have; structlog's output is redacted after rendering.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

import structlog
from pydantic import SecretStr

REDACTED = "***"
_MIN_SECRET_LENGTH = 6  # shorter "secrets" would redact ordinary words

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Facebook user and Page access tokens.
    (re.compile(r"EAA[A-Za-z0-9_\-]{8,}"), "EAA" + REDACTED),
    # Authorization headers (Bearer / OAuth schemes), app tokens "id|secret" included.
    (re.compile(r"\b(Bearer|OAuth)\s+[A-Za-z0-9._~+/=|\-]+", re.IGNORECASE), r"\1 " + REDACTED),
    # Secrets passed as URL or form parameters.
    (
        re.compile(
            r"\b(access_token|input_token|fb_exchange_token|client_secret|appsecret_proof|"
            r"page_access_token|password)(=|%3D|\"?\s*:\s*\"?)[^&\s\"',}]+",
            re.IGNORECASE,
        ),
        r"\1\2" + REDACTED,
    ),
    # The Login dialog's one-time code and state in callback URLs.
    (re.compile(r"([?&](?:code|state)=)[^&\s\"']+"), r"\1" + REDACTED),
    # JWTs (sessions, OAuth state).
    (re.compile(r"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"), "jwt:" + REDACTED),
    # Fernet ciphertexts (encrypted tokens at rest).
    (re.compile(r"gAAAAA[A-Za-z0-9_\-=]{20,}"), "fernet:" + REDACTED),
)

#: Third-party loggers whose DEBUG/INFO lines carry SQL parameters and result rows — buyer messages
#: among them — so they never go below this level, whatever LOG_LEVEL says.
QUIET_LOGGERS = {
    "aiosqlite": logging.INFO,
    "sqlalchemy.engine": logging.WARNING,
    "sqlalchemy.pool": logging.INFO,
}

_secrets: set[str] = set()
_installed = False


def register_secrets(values: Iterable[str]) -> None:
    """Redact these exact values (app secret, JWT secret, each encryption key …) from every log line."""
    for value in values:
        for part in (value, *value.split(",")):
            part = part.strip()
            if len(part) >= _MIN_SECRET_LENGTH:
                _secrets.add(part)


def redact(text: str) -> str:
    """``text`` with every configured secret and token-shaped string replaced by ``***``."""
    for secret in sorted(_secrets, key=len, reverse=True):
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _install_record_factory() -> None:
    """Redact every ``logging`` record when it is created (before filters, handlers and formatters)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed %-format: keep the raw template, redacted
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[0] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
    _installed = True


def _redact_rendered(_logger: Any, _name: str, event: Any) -> Any:
    """structlog's last processor: redact the rendered line."""
    if isinstance(event, str):
        return redact(event)
    if isinstance(event, bytes):
        return redact(event.decode("utf-8", "replace"))
    return event


def configure_logging(level: str = "INFO", *, json_output: bool = True, secrets: Iterable[str] = ()) -> None:
    """Configure logging and structlog at ``level``; ``secrets`` are redacted wherever they appear."""
    register_secrets(secrets)
    _install_record_factory()
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    logging.basicConfig(level=numeric, format="%(message)s")
    for name, floor in QUIET_LOGGERS.items():
        logging.getLogger(name).setLevel(max(numeric, floor))
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json_output else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
            _redact_rendered,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        cache_logger_on_first_use=True,
    )


def settings_secrets(settings: Any) -> list[str]:
    """The secret values of a :class:`~accorria_agent.settings.Settings` (for :func:`configure_logging`)."""
    names = (
        "facebook_app_secret",
        "facebook_verify_token",
        "jwt_secret",
        "encryption_key",
        "openai_api_key",
        "accorria_api_key",
    )
    values = []
    for name in names:
        value = getattr(settings, name, None)
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        if isinstance(raw, str) and raw:
            values.append(raw)
    return values
