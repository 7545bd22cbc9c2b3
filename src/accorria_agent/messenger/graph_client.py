"""The Graph API client: Send API, sender actions, messenger profile, handover (httpx, async).

It is faithful to Meta's documented request shapes: ``POST {graph}/{version}/me/messages`` with the Page
access token as the ``access_token`` query parameter plus ``appsecret_proof``. Errors come back as
:class:`GraphApiError` with code and subcode; retrying is the caller's decision (see ``delivery``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from accorria_agent.messenger.errors import GraphApiError, GraphTimeout
from accorria_agent.messenger.signature import appsecret_proof

PAGE_INBOX_APP_ID = "263902037430900"


@dataclass(frozen=True)
class SendResult:
    """Meta's answer to a successful send."""

    recipient_id: str
    message_id: str | None


class GraphClient:
    """Async client for the parts of the Graph API the agent uses."""

    def __init__(
        self, base_url: str, http: httpx.AsyncClient, *, app_secret: str = "", timeout: float = 10.0
    ) -> None:
        self._base = base_url.rstrip("/")
        self._http = http
        self._app_secret = app_secret
        self._timeout = timeout

    async def send_message(
        self,
        page_token: str,
        recipient_psid: str,
        message: dict[str, Any],
        *,
        messaging_type: str = "RESPONSE",
        tag: str | None = None,
        metadata: str | None = None,
    ) -> SendResult:
        """Send one message; ``metadata`` carries our outbound id (Meta echoes it back)."""
        body: dict[str, Any] = {
            "recipient": {"id": recipient_psid},
            "messaging_type": messaging_type,
            "message": dict(message),
        }
        if tag:
            body["tag"] = tag
        if metadata:
            body["message"]["metadata"] = metadata
        data = await self._post("me/messages", page_token, body)
        return SendResult(recipient_id=str(data.get("recipient_id", "")), message_id=data.get("message_id"))

    async def sender_action(self, page_token: str, recipient_psid: str, action: str) -> None:
        """``typing_on``, ``typing_off`` or ``mark_seen`` — always a call of its own."""
        await self._post(
            "me/messages", page_token, {"recipient": {"id": recipient_psid}, "sender_action": action}
        )

    async def set_messenger_profile(self, page_token: str, profile: dict[str, Any]) -> None:
        """Get Started, persistent menu, greeting and ice breakers."""
        await self._post("me/messenger_profile", page_token, profile)

    async def pass_thread_control(
        self, page_token: str, recipient_psid: str, target_app_id: str = PAGE_INBOX_APP_ID, metadata: str = ""
    ) -> None:
        """Hand the thread to another app (by default the Page Inbox, where the seller answers)."""
        body: dict[str, Any] = {"recipient": {"id": recipient_psid}, "target_app_id": target_app_id}
        if metadata:
            body["metadata"] = metadata
        await self._post("me/pass_thread_control", page_token, body)

    async def take_thread_control(self, page_token: str, recipient_psid: str, metadata: str = "") -> None:
        """Take the thread back for the bot."""
        body: dict[str, Any] = {"recipient": {"id": recipient_psid}}
        if metadata:
            body["metadata"] = metadata
        await self._post("me/take_thread_control", page_token, body)

    async def _post(self, path: str, page_token: str, body: dict[str, Any]) -> dict[str, Any]:
        params = {"access_token": page_token}
        if self._app_secret:
            params["appsecret_proof"] = appsecret_proof(page_token, self._app_secret)
        try:
            response = await self._http.post(
                f"{self._base}/{path}",
                params=params,
                content=orjson.dumps(body),
                headers={"Content-Type": "application/json"},
                timeout=self._timeout,
            )
        except httpx.TimeoutException as error:
            raise GraphTimeout(f"timeout calling {path}") from error
        except httpx.TransportError as error:
            raise GraphApiError(f"transport error calling {path}: {type(error).__name__}") from error
        return _parse_response(response)


def _parse_response(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        data = None
    if response.status_code < 400 and isinstance(data, dict) and "error" not in data:
        return data
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        raise GraphApiError(
            f"HTTP {response.status_code} without a Graph error body",
            http_status=response.status_code,
            retry_after_seconds=_retry_after(response),
        )
    code = error.get("code")
    subcode = error.get("error_subcode")
    raise GraphApiError(
        str(error.get("message", ""))[:500],
        code=code if isinstance(code, int) else None,
        subcode=subcode if isinstance(subcode, int) else None,
        http_status=response.status_code,
        fbtrace_id=str(error.get("fbtrace_id") or "") or None,
        retry_after_seconds=_retry_after(response),
    )


def _retry_after(response: httpx.Response) -> float | None:
    """Seconds to wait from ``X-Business-Use-Case-Usage`` (``estimated_time_to_regain_access``, minutes)."""
    header = response.headers.get("x-business-use-case-usage")
    if not header:
        return None
    try:
        usage = orjson.loads(header)
    except orjson.JSONDecodeError:
        return None
    minutes = 0.0
    if isinstance(usage, dict):
        for entries in usage.values():
            if isinstance(entries, list):
                for entry in entries:
                    if isinstance(entry, dict):
                        value = entry.get("estimated_time_to_regain_access")
                        if isinstance(value, int | float):
                            minutes = max(minutes, float(value))
    return minutes * 60.0 if minutes > 0 else None
