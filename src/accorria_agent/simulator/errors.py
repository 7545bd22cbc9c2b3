"""Graph-API-shaped errors.

Every failure of the fake Graph API is answered as Meta does::

    {"error": {"message", "type", "code", "error_subcode", "fbtrace_id"}}

HTTP statuses follow what the real Graph API returns (observed in public bug
reports), not the HTTP semantics one might expect: permission/policy errors such
as ``(#10) ... outside of allowed window`` and token errors (190) come back as
**400**, with a ``WWW-Authenticate`` header for 190. Transient faults are 5xx.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi.responses import JSONResponse


def new_fbtrace_id() -> str:
    """Return an opaque trace id shaped like Meta's (11 url-safe characters)."""
    return secrets.token_urlsafe(8)[:11]


class GraphError(Exception):
    """A Graph API error to be rendered in Meta's JSON format."""

    def __init__(
        self,
        message: str,
        code: int,
        *,
        subcode: int | None = None,
        status: int = 400,
        type_: str = "OAuthException",
        is_transient: bool | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.subcode = subcode
        self.status = status
        self.type = type_
        self.is_transient = is_transient
        self.headers = dict(headers or {})
        self.fbtrace_id = new_fbtrace_id()

    def body(self) -> dict[str, Any]:
        """The ``{"error": {...}}`` body, exactly as sent to the client."""
        err: dict[str, Any] = {"message": self.message, "type": self.type, "code": self.code}
        if self.subcode is not None:
            err["error_subcode"] = self.subcode
        if self.is_transient is not None:
            err["is_transient"] = self.is_transient
        err["fbtrace_id"] = self.fbtrace_id
        return {"error": err}

    def summary(self) -> dict[str, Any]:
        """The error object without the envelope (stored in the sent log)."""
        inner: dict[str, Any] = self.body()["error"]
        return inner

    def response(self) -> JSONResponse:
        """Render as a FastAPI response with the right status and headers."""
        headers = dict(self.headers)
        if self.code == 190:
            # The real Graph API adds this header to every token error.
            headers.setdefault(
                "WWW-Authenticate", f'OAuth "Facebook Platform" "invalid_token" "{self.message}"'
            )
        headers["x-fb-trace-id"] = self.fbtrace_id
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


# --- constructors for the errors used in several places -------------------------------------------


def param_error(message: str, *, subcode: int | None = None) -> GraphError:
    """``(#100)`` invalid-parameter error (HTTP 400)."""
    return GraphError(f"(#100) {message}", 100, subcode=subcode)


def invalid_token(message: str = "Invalid OAuth access token - Cannot parse access token") -> GraphError:
    """Code 190 token error (HTTP 400 + WWW-Authenticate, as Graph does)."""
    return GraphError(message, 190)


def unsupported_request(method: str, object_id: str) -> GraphError:
    """The error Graph returns for unknown objects/edges (code 100, subcode 33)."""
    return GraphError(
        f"Unsupported {method.lower()} request. Object with ID '{object_id}' does not exist, "
        "cannot be loaded due to missing permissions, or does not support this operation. "
        "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
        100,
        subcode=33,
        type_="GraphMethodException",
    )


class SimulatorInputError(ValueError):
    """A buyer/inbox action that makes no sense (rendered as HTTP 400/404 by the UI API)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
