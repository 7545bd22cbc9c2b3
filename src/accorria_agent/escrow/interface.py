"""What the deals domain needs from an escrow service, and an in-memory double that records calls.

A transaction is created once per deal: the caller passes an idempotency key derived from the deal, and
the provider returns the same transaction for the same key however often it is asked (a retry after a
timeout whose answer was lost never makes a second one).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Literal, Protocol

# Statuses of an escrow transaction (the assumed contract, docs/escrow.md).
EscrowStatus = Literal["pending", "funded", "released", "cancelled", "disputed"]
ESCROW_STATUSES: tuple[EscrowStatus, ...] = ("pending", "funded", "released", "cancelled", "disputed")


class EscrowError(Exception):
    """The escrow service refused or failed. ``transient`` errors are retried with backoff."""

    def __init__(self, message: str, *, transient: bool, status_code: int | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.status_code = status_code


@dataclass(frozen=True)
class NewTransaction:
    """What we ask the escrow service to hold: one car, one price, one seller, one buyer."""

    reference: str  # our deal reference, e.g. "deal-42"
    listing_id: int
    listing_title: str
    amount: Decimal
    fee: Decimal
    currency: str
    seller_id: int
    seller_name: str
    seller_email: str | None
    buyer_reference: str  # an opaque buyer id (never the PSID itself)


@dataclass(frozen=True)
class EscrowTransaction:
    """A transaction as the escrow service reports it."""

    id: str
    status: EscrowStatus
    checkout_url: str
    amount: Decimal
    fee: Decimal
    currency: str
    reference: str


class EscrowProvider(Protocol):
    """Accorria's escrow API as the agent uses it."""

    async def create_transaction(self, request: NewTransaction, *, idempotency_key: str) -> EscrowTransaction:
        """Create (or, for a key seen before, return) the transaction; raises :class:`EscrowError`."""
        ...

    async def get_transaction(self, transaction_id: str) -> EscrowTransaction:
        """The transaction's current state; raises :class:`EscrowError` (404 is not transient)."""
        ...

    async def cancel_transaction(self, transaction_id: str) -> EscrowTransaction:
        """Cancel a transaction that is not funded yet; raises :class:`EscrowError`."""
        ...


@dataclass
class InMemoryEscrowProvider:
    """An escrow service in memory: idempotent by key, with scripted failures (``fail_next``)."""

    checkout_base: str = "https://escrow.example/checkout"
    transactions: dict[str, EscrowTransaction] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    # Errors raised by the next calls, in order (e.g. [EscrowError("down", transient=True)]).
    fail_next: list[EscrowError] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def _maybe_fail(self) -> None:
        if self.fail_next:
            raise self.fail_next.pop(0)

    async def create_transaction(self, request: NewTransaction, *, idempotency_key: str) -> EscrowTransaction:
        self.calls.append(f"create:{idempotency_key}")
        self._maybe_fail()
        existing = self.by_key.get(idempotency_key)
        if existing is not None:
            return self.transactions[existing]
        transaction_id = f"etx_{next(self._ids)}"
        transaction = EscrowTransaction(
            id=transaction_id,
            status="pending",
            checkout_url=f"{self.checkout_base}/{transaction_id}",
            amount=request.amount,
            fee=request.fee,
            currency=request.currency,
            reference=request.reference,
        )
        self.transactions[transaction_id] = transaction
        self.by_key[idempotency_key] = transaction_id
        return transaction

    async def get_transaction(self, transaction_id: str) -> EscrowTransaction:
        self.calls.append(f"get:{transaction_id}")
        self._maybe_fail()
        try:
            return self.transactions[transaction_id]
        except KeyError:
            raise EscrowError("no such transaction", transient=False, status_code=404) from None

    async def cancel_transaction(self, transaction_id: str) -> EscrowTransaction:
        self.calls.append(f"cancel:{transaction_id}")
        transaction = await self.get_transaction(transaction_id)
        if transaction.status not in ("pending", "cancelled"):
            raise EscrowError(
                f"cannot cancel a {transaction.status} transaction", transient=False, status_code=409
            )
        cancelled = replace(transaction, status="cancelled")
        self.transactions[transaction_id] = cancelled
        return cancelled
