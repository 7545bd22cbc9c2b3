"""Graph API errors, classified by ``code`` and ``error_subcode`` (never by message text).

See Meta's Messenger Platform error reference: transient codes are retried with backoff inside the
24-hour window; permanent ones are recorded; token and restriction errors pause the tenant.
"""

from __future__ import annotations

from enum import StrEnum

TRANSIENT_CODES = frozenset({1, 2, 4, 17, 32, 341, 613}) | frozenset(range(80001, 80015))


class ErrorClass(StrEnum):
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    OUTSIDE_WINDOW = "outside_window"
    TOKEN_INVALID = "token_invalid"
    PAGE_RESTRICTED = "page_restricted"


class GraphApiError(Exception):
    """An error answer (or no answer) from the Graph API."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        subcode: int | None = None,
        http_status: int | None = None,
        fbtrace_id: str | None = None,
        retry_after_seconds: float | None = None,
        maybe_processed: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.http_status = http_status
        self.fbtrace_id = fbtrace_id
        self.retry_after_seconds = retry_after_seconds
        # The request reached Meta whole and no answer came back (a read timeout, a connection lost while
        # waiting): Meta may have carried it out. A message send must then not simply be repeated.
        self.maybe_processed = maybe_processed

    @property
    def error_class(self) -> ErrorClass:
        return classify(self.code, self.subcode, self.http_status)

    @property
    def is_transient(self) -> bool:
        return self.error_class is ErrorClass.TRANSIENT

    def summary(self) -> str:
        """A short, secret-free description for storage and the seller's dashboard."""
        parts = [f"code={self.code}" if self.code is not None else "code=none"]
        if self.subcode is not None:
            parts.append(f"subcode={self.subcode}")
        if self.http_status is not None:
            parts.append(f"http={self.http_status}")
        return f"{self.error_class.value} ({', '.join(parts)}): {self.message[:200]}"


class GraphTimeout(GraphApiError):
    """No answer in time; transient."""


def classify(code: int | None, subcode: int | None, http_status: int | None) -> ErrorClass:
    """The class of a Graph error from its code, subcode and HTTP status."""
    if code == 190:
        return ErrorClass.TOKEN_INVALID
    if code == 10 and subcode == 2018278:
        return ErrorClass.OUTSIDE_WINDOW
    if code == 10 and subcode == 1893063:
        return ErrorClass.PAGE_RESTRICTED
    if code is not None and code in TRANSIENT_CODES:
        return ErrorClass.TRANSIENT
    if code is None and (http_status is None or http_status >= 500):
        return ErrorClass.TRANSIENT
    if http_status is not None and http_status >= 500 and code in (None, 1, 2):
        return ErrorClass.TRANSIENT
    return ErrorClass.PERMANENT
