"""Expected refusals as typed errors carrying an HTTP status.

A domain service raises one of these for a business "no" (not found, someone else's id, a conflict, a
policy refusal); the web app turns it into a JSON response with one exception handler
(``app.install_error_handlers``), and a job records it as an expected outcome instead of retrying.
Nothing here knows about HTTP frameworks: the status is plain data, so every layer may import this leaf.
"""

from __future__ import annotations

from collections.abc import Mapping


class DomainError(Exception):
    """A refusal the caller can act on. ``code`` is stable for clients; ``detail`` is for people."""

    status_code: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.headers = dict(headers or {})


class BadRequest(DomainError):
    """The input is well-formed but cannot be used (400)."""


class Unauthorized(DomainError):
    """No valid session (401)."""

    status_code = 401
    code = "unauthorized"


class Forbidden(DomainError):
    """Signed in, but this member may not do that (403)."""

    status_code = 403
    code = "forbidden"


class NotFound(DomainError):
    """No such thing for this tenant; someone else's id is also "not found" (404)."""

    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    """The request clashes with the current state (409): already connected, slot taken …"""

    status_code = 409
    code = "conflict"


class PayloadTooLarge(DomainError):
    """The body exceeds the endpoint's limit (413)."""

    status_code = 413
    code = "payload_too_large"


class PolicyRefused(DomainError):
    """A rule refuses it (422): outside the 24-hour window, below the floor without confirmation …"""

    status_code = 422
    code = "refused"


class TooManyRequests(DomainError):
    """Throttled (429); ``headers`` may carry ``Retry-After``."""

    status_code = 429
    code = "too_many_requests"


class Unavailable(DomainError):
    """A dependency is down; try again later (503)."""

    status_code = 503
    code = "unavailable"
