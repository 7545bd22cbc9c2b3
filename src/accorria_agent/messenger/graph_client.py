"""The Graph API client: Send API, sender actions, messenger profile, handover (httpx, async).

It is faithful to Meta's documented request shapes (``POST {graph}/{version}/me/messages`` …), with one
deliberate choice: the access token travels in an ``Authorization: Bearer`` header, which the Graph API
accepts, never in the URL, because request URLs end up in logs (httpx logs every one at INFO).
``appsecret_proof`` (an HMAC of the token, useless without the app secret) stays a query parameter.
The OAuth calls (code exchange, long-lived tokens) send the app secret in a form body for the same reason.
Errors come back as :class:`GraphApiError` with code and subcode; retrying is the caller's decision.

Facebook Login / Page tokens as Meta documents them:
https://developers.facebook.com/docs/facebook-login/guides/advanced/manual-flow (code exchange),
https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived (fb_exchange_token),
https://developers.facebook.com/docs/graph-api/reference/user/accounts/ (``me/accounts``),
https://developers.facebook.com/docs/graph-api/reference/page/subscribed_apps/ and
https://developers.facebook.com/docs/graph-api/reference/debug_token/.
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
class OAuthToken:
    """A token from ``oauth/access_token``; ``expires_in`` is ``None`` when Meta gives no expiry."""

    access_token: str
    expires_in: int | None

    def __repr__(self) -> str:  # the token must never reach a log through a repr
        return f"OAuthToken(access_token='***', expires_in={self.expires_in})"


@dataclass(frozen=True)
class PageGrant:
    """One Page from ``me/accounts``: its id, name, Page access token and the person's tasks on it."""

    page_id: str
    name: str
    access_token: str
    tasks: tuple[str, ...]

    def __repr__(self) -> str:
        return f"PageGrant(page_id={self.page_id!r}, name={self.name!r}, access_token='***')"


@dataclass(frozen=True)
class TokenInfo:
    """What ``debug_token`` says about a token (``expires_at`` 0 or ``None``: never expires)."""

    is_valid: bool
    expires_at: int | None
    scopes: tuple[str, ...]
    error_code: int | None = None
    error_message: str | None = None


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

    # --- Facebook Login and Page subscriptions ------------------------------------------------------

    async def exchange_code(self, app_id: str, app_secret: str, redirect_uri: str, code: str) -> OAuthToken:
        """Exchange the Login dialog's ``code`` for a (short-lived) user access token."""
        form = {
            "client_id": app_id,
            "client_secret": app_secret,
            "redirect_uri": redirect_uri,
            "code": code,
        }
        return _oauth_token(await self._oauth(form))

    async def exchange_long_lived(self, app_id: str, app_secret: str, token: str) -> OAuthToken:
        """``grant_type=fb_exchange_token``: a long-lived (about 60 days) token for a short-lived one."""
        form = {
            "grant_type": "fb_exchange_token",
            "client_id": app_id,
            "client_secret": app_secret,
            "fb_exchange_token": token,
        }
        return _oauth_token(await self._oauth(form))

    async def permissions(self, user_token: str) -> dict[str, str]:
        """``me/permissions`` as ``{permission: status}`` (``granted`` or ``declined``)."""
        data = await self._request("GET", "me/permissions", user_token)
        result: dict[str, str] = {}
        for item in _list(data.get("data")):
            if isinstance(item, dict) and isinstance(item.get("permission"), str):
                result[item["permission"]] = str(item.get("status", ""))
        return result

    async def pages(self, user_token: str, *, max_pages: int = 500) -> list[PageGrant]:
        """Every Page the person granted us (``me/accounts``, following the cursor), Page tokens included."""
        grants: list[PageGrant] = []
        params: dict[str, str] = {"fields": "id,name,access_token,tasks", "limit": "100"}
        while len(grants) < max_pages:
            data = await self._request("GET", "me/accounts", user_token, params=params)
            for item in _list(data.get("data")):
                if not isinstance(item, dict) or not item.get("id") or not item.get("access_token"):
                    continue
                tasks = _list(item.get("tasks"))
                grants.append(
                    PageGrant(
                        page_id=str(item["id"]),
                        name=str(item.get("name") or "")[:200],
                        access_token=str(item["access_token"]),
                        tasks=tuple(str(t) for t in tasks),
                    )
                )
            paging = _dict(data.get("paging"))
            after = _dict(paging.get("cursors")).get("after")
            if not paging.get("next") or not after:
                break
            params = {**params, "after": str(after)}
        return grants[:max_pages]

    async def debug_token(self, input_token: str, app_id: str, app_secret: str) -> TokenInfo:
        """Inspect ``input_token`` with the app token (``debug_token``).

        Meta defines ``input_token`` as a query parameter of a GET; the logging filter redacts it.
        """
        data = await self._request(
            "GET", "debug_token", f"{app_id}|{app_secret}", params={"input_token": input_token}
        )
        info = _dict(data.get("data"))
        error = _dict(info.get("error"))
        expires = info.get("expires_at")
        scopes = _list(info.get("scopes"))
        code = error.get("code")
        return TokenInfo(
            is_valid=info.get("is_valid") is True,
            expires_at=int(expires) if isinstance(expires, int) and expires > 0 else None,
            scopes=tuple(str(s) for s in scopes),
            error_code=code if isinstance(code, int) else None,
            error_message=str(error.get("message"))[:300] if error.get("message") else None,
        )

    async def subscribe_app(self, page_id: str, page_token: str, fields: list[str]) -> None:
        """``POST {page-id}/subscribed_apps``: this app receives ``fields`` webhooks for the Page."""
        await self._post(f"{page_id}/subscribed_apps", page_token, {"subscribed_fields": ",".join(fields)})

    async def unsubscribe_app(self, page_id: str, page_token: str) -> None:
        """``DELETE {page-id}/subscribed_apps``: stop this app's webhooks for the Page."""
        await self._request("DELETE", f"{page_id}/subscribed_apps", page_token)

    # --- transport ---------------------------------------------------------------------------------

    async def _post(self, path: str, page_token: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self._request("POST", path, page_token, body=body)

    async def _request(
        self,
        method: str,
        path: str,
        token: str,
        *,
        params: dict[str, str] | None = None,
        body: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        query = dict(params or {})
        if self._app_secret and "|" not in token:  # app tokens carry no proof
            query["appsecret_proof"] = appsecret_proof(token, self._app_secret)
        headers = {"Authorization": f"Bearer {token}"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = await self._http.request(
                method,
                f"{self._base}/{path}",
                params=query,
                content=orjson.dumps(body) if body is not None else None,
                headers=headers,
                timeout=self._timeout,
            )
        except httpx.TimeoutException as error:
            raise GraphTimeout(
                f"timeout calling {path}", maybe_processed=_maybe_processed(error)
            ) from error
        except httpx.TransportError as error:
            raise GraphApiError(
                f"transport error calling {path}: {type(error).__name__}",
                maybe_processed=_maybe_processed(error),
            ) from error
        return _parse_response(response)

    async def _oauth(self, form: dict[str, str]) -> dict[str, Any]:
        try:
            response = await self._http.post(
                f"{self._base}/oauth/access_token", data=form, timeout=self._timeout
            )
        except httpx.TimeoutException as error:
            raise GraphTimeout("timeout calling oauth/access_token") from error
        except httpx.TransportError as error:
            raise GraphApiError(
                f"transport error calling oauth/access_token: {type(error).__name__}"
            ) from error
        return _parse_response(response)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _oauth_token(data: dict[str, Any]) -> OAuthToken:
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise GraphApiError("oauth/access_token answered without an access_token")
    expires = data.get("expires_in")
    return OAuthToken(access_token=token, expires_in=int(expires) if isinstance(expires, int) else None)


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


def _maybe_processed(error: httpx.TransportError) -> bool:
    """Whether a failed request may still have been carried out by the server: it was written whole and
    the answer is what failed (read timeout, read error, the connection closed before a response). A
    connect or pool timeout, or a failure while writing, means the server never got the request."""
    return isinstance(error, (httpx.ReadTimeout, httpx.ReadError, httpx.RemoteProtocolError))
