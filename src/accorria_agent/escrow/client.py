"""The Accorria escrow API client (httpx), per the assumed contract in ``docs/escrow.md``.

Every create carries an ``Idempotency-Key`` derived from the deal, so a retry after a timeout (when the
first call may have succeeded unseen) returns the transaction already made instead of a second one.
Timeouts, connection errors, 429 and 5xx are transient (the caller retries with backoff); other 4xx
answers and malformed bodies are permanent.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

import httpx

from accorria_agent.escrow.interface import ESCROW_STATUSES, EscrowError, EscrowTransaction, NewTransaction


class AccorriaEscrowClient:
    """``EscrowProvider`` over HTTP: ``{base_url}/v1/transactions`` with a bearer API key."""

    def __init__(
        self, base_url: str, api_key: str, http: httpx.AsyncClient, *, timeout: float = 10.0
    ) -> None:
        self._base = base_url.rstrip("/")
        self._key = api_key
        self._http = http
        self._timeout = timeout

    async def create_transaction(self, request: NewTransaction, *, idempotency_key: str) -> EscrowTransaction:
        body = {
            "reference": request.reference,
            "amount": str(request.amount),
            "fee": str(request.fee),
            "currency": request.currency,
            "item": {"type": "vehicle", "listing_id": request.listing_id, "title": request.listing_title},
            "seller": {"id": request.seller_id, "name": request.seller_name, "email": request.seller_email},
            "buyer": {"reference": request.buyer_reference},
        }
        return await self._call("POST", "/v1/transactions", json=body, idempotency_key=idempotency_key)

    async def get_transaction(self, transaction_id: str) -> EscrowTransaction:
        return await self._call("GET", f"/v1/transactions/{quote(transaction_id, safe='')}")

    async def cancel_transaction(self, transaction_id: str) -> EscrowTransaction:
        return await self._call("POST", f"/v1/transactions/{quote(transaction_id, safe='')}/cancel")

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> EscrowTransaction:
        headers = {"Authorization": f"Bearer {self._key}", "Accept": "application/json"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        try:
            # asyncio.timeout as well as httpx's: in-process transports (the demo, tests) ignore the latter.
            async with asyncio.timeout(self._timeout):
                response = await self._http.request(
                    method, self._base + path, json=json, headers=headers, timeout=self._timeout
                )
        except (TimeoutError, httpx.TimeoutException):
            raise EscrowError("escrow API timed out", transient=True) from None
        except httpx.TransportError as error:
            raise EscrowError(f"escrow API unreachable ({type(error).__name__})", transient=True) from None
        if response.status_code == 429 or response.status_code >= 500:
            raise EscrowError(
                f"escrow API answered {response.status_code}",
                transient=True,
                status_code=response.status_code,
            )
        if response.status_code >= 400:
            raise EscrowError(
                f"escrow API refused the request ({response.status_code}: {_error_text(response)})",
                transient=False,
                status_code=response.status_code,
            )
        return parse_transaction(_json(response))


def parse_transaction(data: Any) -> EscrowTransaction:
    """A transaction from the API's JSON; anything unexpected is a permanent :class:`EscrowError`."""
    if not isinstance(data, dict):
        raise EscrowError("escrow API answered with a non-object body", transient=False)
    try:
        status = str(data["status"])
        if status not in ESCROW_STATUSES:
            raise EscrowError(f"escrow API reported an unknown status {status[:40]!r}", transient=False)
        return EscrowTransaction(
            id=str(data["id"])[:64],
            status=status,  # checked against ESCROW_STATUSES above
            checkout_url=str(data["checkout_url"]),
            amount=Decimal(str(data["amount"])),
            fee=Decimal(str(data["fee"])),
            currency=str(data.get("currency", "USD"))[:8],
            reference=str(data.get("reference", ""))[:64],
        )
    except (KeyError, InvalidOperation, TypeError) as error:
        raise EscrowError(
            f"escrow API answered an unexpected body ({error!r})"[:200], transient=False
        ) from None


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        raise EscrowError("escrow API answered with invalid JSON", transient=False) from None


def _error_text(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:120]
    detail = data.get("error", {}).get("message") if isinstance(data, dict) else None
    return str(detail or data)[:120]
