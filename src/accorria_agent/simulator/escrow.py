"""The simulator's stand-in for Accorria's escrow service (the assumed contract of ``docs/escrow.md``).

Mounted with the other simulator routers under ``/simulator``:

* the API the agent calls (``ACCORRIA_API_URL={base}/simulator/escrow``):
  ``POST /escrow/v1/transactions`` (``Idempotency-Key`` required: the same key returns the same
  transaction), ``GET /escrow/v1/transactions/{id}``, ``POST /escrow/v1/transactions/{id}/cancel``;
* ``GET /escrow/checkout/{id}`` — the checkout page where the person plays the buyer paying (escaped HTML),
  with ``Pay`` (→ funded) and ``Confirm receipt`` (→ released) buttons;
* the JSON API for tests and people: ``GET /api/escrow`` (the transactions held), ``POST
  /api/escrow/{id}/status`` ``{"status": "funded"|"released"|"cancelled"|"disputed"}`` (sends the signed
  webhook to the agent), ``GET|POST|DELETE /api/escrow/faults`` ``{"error_rate": 0..1, "kinds":
  ["5xx"|"timeout"], "timeout_seconds", "seed"}``.

Faults hit the agent-facing API only. A ``timeout`` fault creates the transaction and then answers too
late — the case where only the idempotency key prevents a second transaction on the agent's retry.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from accorria_agent.escrow.signature import SIGNATURE_HEADER, sign

from .state import FaultSettings

FEE_RATE = Decimal("0.009")
TargetStatus = Literal["funded", "released", "cancelled", "disputed"]


EscrowFaultKind = Literal["5xx", "timeout"]


def _default_kinds() -> list[EscrowFaultKind]:
    return ["5xx"]


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: TargetStatus


class EscrowFaultsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    error_rate: float = Field(ge=0.0, le=1.0)
    kinds: list[EscrowFaultKind] = Field(default_factory=_default_kinds, min_length=1)
    timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    seed: int | None = None


@dataclass
class StandInTransaction:
    id: str
    key: str
    status: str
    amount: Decimal
    fee: Decimal
    currency: str
    reference: str
    title: str
    seller_name: str
    created_at: str
    webhooks: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self, checkout_url: str) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "checkout_url": checkout_url,
            "amount": str(self.amount),
            "fee": str(self.fee),
            "currency": self.currency,
            "reference": self.reference,
            "title": self.title,
            "seller_name": self.seller_name,
            "created_at": self.created_at,
        }


class StandInError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message

    def response(self) -> JSONResponse:
        return JSONResponse({"error": {"message": self.message}}, status_code=self.status)


class EscrowStandIn:
    """An in-memory escrow service with a checkout page, signed status webhooks and fault injection."""

    def __init__(
        self,
        *,
        public_base: str,
        webhook_url: str,
        webhook_secret: str,
        deliver_client: httpx.AsyncClient,
        clock: Callable[[], datetime],
        api_key: str | None = None,
    ) -> None:
        self.public_base = public_base.rstrip("/")
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.api_key = api_key
        self._client = deliver_client
        self._clock = clock
        self.transactions: dict[str, StandInTransaction] = {}
        self.by_key: dict[str, str] = {}
        self.faults = FaultSettings()
        self.create_calls = 0
        self._ids = itertools.count(1)
        self._events = itertools.count(1)
        self.router = self._build_router()

    async def aclose(self) -> None:
        await self._client.aclose()

    def checkout_url(self, transaction_id: str) -> str:
        return f"{self.public_base}/simulator/escrow/checkout/{transaction_id}"

    def view(self, transaction: StandInTransaction) -> dict[str, Any]:
        return transaction.to_json(self.checkout_url(transaction.id))

    # --- the agent-facing API ---------------------------------------------------------------------

    def create(self, body: Any, key: str | None) -> StandInTransaction:
        """Create a transaction, or return the one made for ``key`` before."""
        if not key or len(key) > 200:
            raise StandInError(400, "Idempotency-Key header is required (1-200 characters)")
        existing = self.by_key.get(key)
        if existing is not None:
            return self.transactions[existing]
        if not isinstance(body, dict):
            raise StandInError(400, "body must be a JSON object")
        try:
            amount = Decimal(str(body["amount"]))
            fee = Decimal(str(body["fee"]))
        except (KeyError, InvalidOperation):
            raise StandInError(400, "amount and fee must be decimal strings") from None
        if not amount.is_finite() or amount <= 0:
            raise StandInError(422, "amount must be positive")
        if fee != (amount * FEE_RATE).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP):
            raise StandInError(422, "fee must be 0.9 % of the amount, rounded half-up to the cent")
        raw_item, raw_seller = body.get("item"), body.get("seller")
        item: dict[str, Any] = raw_item if isinstance(raw_item, dict) else {}
        seller: dict[str, Any] = raw_seller if isinstance(raw_seller, dict) else {}
        transaction = StandInTransaction(
            id=f"esc_{next(self._ids)}",
            key=key,
            status="pending",
            amount=amount,
            fee=fee,
            currency=str(body.get("currency", "USD"))[:8],
            reference=str(body.get("reference", ""))[:64],
            title=str(item.get("title", ""))[:200],
            seller_name=str(seller.get("name", ""))[:200],
            created_at=self._clock().isoformat(),
        )
        self.transactions[transaction.id] = transaction
        self.by_key[key] = transaction.id
        return transaction

    def get(self, transaction_id: str) -> StandInTransaction:
        transaction = self.transactions.get(transaction_id)
        if transaction is None:
            raise StandInError(404, "no such transaction")
        return transaction

    # --- status changes and their webhooks --------------------------------------------------------

    async def set_status(self, transaction_id: str, status: str) -> dict[str, Any]:
        """Move the transaction and send the signed webhook; returns the agent's answer."""
        transaction = self.get(transaction_id)
        transaction.status = status
        event_id = f"evt_{next(self._events)}"
        body = json.dumps(
            {
                "id": event_id,
                "type": "transaction.updated",
                "created": int(self._clock().timestamp()),
                "transaction_id": transaction.id,
                "status": status,
                "reference": transaction.reference,
            }
        ).encode()
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(body, self.webhook_secret, int(self._clock().timestamp())),
        }
        record: dict[str, Any] = {"event_id": event_id, "status": status, "agent_status": 0, "error": None}
        try:
            response = await self._client.post(self.webhook_url, content=body, headers=headers, timeout=20.0)
            record["agent_status"] = response.status_code
        except httpx.HTTPError as error:
            record["error"] = type(error).__name__
        transaction.webhooks.append(record)
        return {"transaction": self.view(transaction), "webhook": record}

    # --- routes -----------------------------------------------------------------------------------

    def _authorized(self, request: Request) -> None:
        if self.api_key and request.headers.get("authorization") != f"Bearer {self.api_key}":
            raise StandInError(401, "invalid API key")

    async def _fault(self) -> str | None:
        fault = self.faults.draw()
        if fault == "5xx":
            raise StandInError(503, "injected fault: service unavailable")
        return fault

    def _build_router(self) -> APIRouter:  # noqa: C901 - one closure per route
        router = APIRouter()

        @router.post("/escrow/v1/transactions", include_in_schema=False)
        async def create_transaction(request: Request) -> Response:
            try:
                self._authorized(request)
                self.create_calls += 1
                fault = await self._fault()
                try:
                    body = json.loads(await request.body() or b"{}")
                except ValueError:
                    raise StandInError(400, "malformed JSON body") from None
                transaction = self.create(body, request.headers.get("idempotency-key"))
                if fault == "timeout":
                    # Made, but the answer comes too late: the agent retries with the same key.
                    await asyncio.sleep(self.faults.timeout_seconds)
                return JSONResponse(self.view(transaction), status_code=201)
            except StandInError as error:
                return error.response()

        @router.get("/escrow/v1/transactions/{transaction_id}", include_in_schema=False)
        async def get_transaction(transaction_id: str, request: Request) -> Response:
            try:
                self._authorized(request)
                await self._fault()
                return JSONResponse(self.view(self.get(transaction_id)))
            except StandInError as error:
                return error.response()

        @router.post("/escrow/v1/transactions/{transaction_id}/cancel", include_in_schema=False)
        async def cancel_transaction(transaction_id: str, request: Request) -> Response:
            try:
                self._authorized(request)
                await self._fault()
                transaction = self.get(transaction_id)
                if transaction.status not in ("pending", "cancelled"):
                    raise StandInError(409, f"cannot cancel a {transaction.status} transaction")
                await self.set_status(transaction_id, "cancelled")
                return JSONResponse(self.view(transaction))
            except StandInError as error:
                return error.response()

        @router.get("/escrow/checkout/{transaction_id}", include_in_schema=False)
        async def checkout(transaction_id: str) -> Response:
            transaction = self.transactions.get(transaction_id)
            if transaction is None:
                return HTMLResponse(_page("Not found", "<p>No such escrow transaction.</p>"), status_code=404)
            return HTMLResponse(_checkout_html(transaction), headers={"Cache-Control": "no-store"})

        @router.post("/escrow/checkout/{transaction_id}/{action}", include_in_schema=False)
        async def checkout_action(transaction_id: str, action: str) -> Response:
            transitions = {"pay": ("pending", "funded"), "confirm": ("funded", "released")}
            transaction = self.transactions.get(transaction_id)
            if transaction is None or action not in transitions:
                return HTMLResponse(_page("Not found", "<p>No such escrow action.</p>"), status_code=404)
            before, after = transitions[action]
            if transaction.status == before:
                await self.set_status(transaction_id, after)
            return RedirectResponse(f"../{html.escape(transaction_id)}", status_code=303)

        @router.get("/api/escrow")
        async def list_transactions() -> Response:
            return JSONResponse(
                [
                    {**self.view(t), "webhooks": list(t.webhooks), "idempotency_key": t.key}
                    for t in self.transactions.values()
                ]
            )

        @router.post("/api/escrow/faults")
        async def set_faults(request: Request) -> Response:
            try:
                faults = EscrowFaultsIn.model_validate_json(await request.body() or b"{}")
            except ValidationError as error:
                return JSONResponse(
                    {"error": {"message": "invalid faults", "details": _details(error)}}, status_code=400
                )
            self.faults = FaultSettings(
                error_rate=faults.error_rate,
                kinds=tuple(faults.kinds),
                timeout_seconds=faults.timeout_seconds,
                seed=faults.seed,
                rng=random.Random(faults.seed),
            )
            return JSONResponse(self.faults.to_json())

        @router.get("/api/escrow/faults")
        async def get_faults() -> Response:
            return JSONResponse(self.faults.to_json())

        @router.delete("/api/escrow/faults")
        async def clear_faults() -> Response:
            self.faults = FaultSettings()
            return JSONResponse(self.faults.to_json())

        @router.post("/api/escrow/{transaction_id}/status")
        async def post_status(transaction_id: str, request: Request) -> Response:
            try:
                wanted = StatusIn.model_validate_json(await request.body() or b"{}")
            except ValidationError as error:
                return JSONResponse(
                    {"error": {"message": "invalid status", "details": _details(error)}}, status_code=400
                )
            try:
                return JSONResponse(await self.set_status(transaction_id, wanted.status))
            except StandInError as error:
                return error.response()

        return router


def _details(error: ValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(d["loc"]), "msg": d["msg"]}
        for d in error.errors(include_url=False, include_input=False, include_context=False)
    ]


_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem;color:#1c1e21}"
    "h1{font-size:1.3rem}.card{border:1px solid #ddd;border-radius:12px;padding:1rem}"
    "dl{display:grid;grid-template-columns:auto 1fr;gap:.4rem 1rem}dt{color:#65676b}dd{margin:0}"
    "button{font-size:1rem;padding:.7rem 1.2rem;border:0;border-radius:8px;background:#0866ff;color:#fff;"
    "width:100%;margin-top:1rem;cursor:pointer}.status{font-weight:600}"
)


def _page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def _checkout_html(t: StandInTransaction) -> str:
    e = html.escape
    total = t.amount + t.fee
    action = ""
    if t.status == "pending":
        action = (
            f"<form method='post' action='{e(t.id)}/pay'><button id='pay'>Pay ${total:,.2f}</button></form>"
        )
    elif t.status == "funded":
        action = (
            f"<form method='post' action='{e(t.id)}/confirm'>"
            "<button id='confirm'>I have the car: release the money</button></form>"
        )
    body = (
        "<h1>Accorria Escrow (simulator)</h1><div class='card'>"
        f"<p>{e(t.title) or 'Vehicle'} from {e(t.seller_name) or 'the seller'}</p><dl>"
        f"<dt>Price</dt><dd>${t.amount:,.2f}</dd><dt>Escrow fee (0.9 %)</dt><dd>${t.fee:,.2f}</dd>"
        f"<dt>Total</dt><dd>${total:,.2f}</dd>"
        f"<dt>Status</dt><dd class='status' id='status'>{e(t.status)}</dd></dl>{action}</div>"
        "<p><small>You are playing the buyer. Nothing is charged: this is the demo's stand-in.</small></p>"
    )
    return _page("Escrow checkout", body)
