"""What every simulator JSON endpoint shares: its error shape, body parsing, PSID checks."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from .errors import SimulatorInputError
from .schemas import PSID_RE

P = ParamSpec("P")
M = TypeVar("M", bound=BaseModel)


class UiError(Exception):
    """A JSON API error (400/404) with an optional list of details."""

    def __init__(self, message: str, status: int = 400, details: list[Any] | None = None) -> None:
        super().__init__(message)
        self.message, self.status, self.details = message, status, details

    def response(self) -> JSONResponse:
        """Render as ``{"error": {"message", "details"?}}``."""
        err: dict[str, Any] = {"message": self.message}
        if self.details:
            err["details"] = self.details
        return JSONResponse({"error": err}, status_code=self.status)


def ui_endpoint(fn: Callable[P, Awaitable[Response]]) -> Callable[P, Awaitable[Response]]:
    """Turn input errors into 400/404 JSON instead of letting them become 500s."""

    @functools.wraps(fn)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> Response:
        try:
            return await fn(*args, **kwargs)
        except UiError as exc:
            return exc.response()
        except SimulatorInputError as exc:
            return UiError(str(exc), exc.status).response()

    return wrapper


async def parse(request: Request, model: type[M]) -> M:
    """Validate the JSON body against ``model`` (400 on malformed JSON or invalid fields)."""
    body = await request.body()
    if len(body) > 1_000_000:
        raise UiError("request body too large")
    try:
        return model.model_validate_json(body or b"{}")
    except ValidationError as exc:
        details = exc.errors(include_url=False, include_input=False, include_context=False)
        kinds = {d["type"] for d in details}
        message = "malformed JSON body" if kinds & {"json_invalid", "json_type"} else "invalid request body"
        raise UiError(message, details=[{"loc": list(d["loc"]), "msg": d["msg"]} for d in details]) from exc


def check_psid(psid: str) -> str:
    """PSIDs are digit strings, as on Messenger."""
    if not PSID_RE.fullmatch(psid):
        raise UiError("psid must be 1-32 digits")
    return psid
