"""The escrow fee: 0.9 % of the agreed price, rounded half-up to the cent (``docs/escrow.md``).

One rule, used by the quote in the negotiation's reply and by the transaction we create, so the buyer is
never quoted one fee and charged another.
"""

from __future__ import annotations

from decimal import Decimal

from accorria_agent.negotiation.strategy import ESCROW_FEE_RATE
from accorria_agent.negotiation.strategy import escrow_fee as _quoted_fee

FEE_RATE = ESCROW_FEE_RATE


def transaction_fee(price: Decimal) -> Decimal:
    """``round_half_up(price × 0.009)`` to the cent; a price must be a positive, finite amount."""
    if not isinstance(price, Decimal) or not price.is_finite() or price <= 0:
        raise ValueError(f"an escrow price must be a positive amount, not {price!r}")
    return _quoted_fee(price)
