"""The price guard for a seller's edited co-pilot draft: the floor holds, everything else is theirs."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accorria_agent.negotiation.guard import check_seller_reply, escrow_fee
from accorria_agent.negotiation.schemas import ListingFacts, SellerRules

RULES = SellerRules(
    asking_price=Decimal(12500), price_floor=Decimal(11000), auto_accept_threshold=None, max_concessions=3
)
CIVIC = ListingFacts(listing_id=1, year=2018, make="Honda", model="Civic", trim="EX", mileage=62000)


@pytest.mark.parametrize(
    ("text", "offer", "reasons"),
    [
        ("I could do $11,800 for you.", Decimal(9000), ()),
        ("Yes, the 2018 Civic has 62,000 miles. Call me at 313-555-0100.", None, ()),
        ("OK, 10,500 and it's yours", Decimal(9000), ("below_floor",)),
        ("I can do 10.9k", None, ("below_floor",)),
        ("Deal!", Decimal(9000), ("accepts_below_floor",)),
        ("Deal!", Decimal(11500), ()),
        ("Sorry, my floor is $11,000.", None, ("floor_disclosure",)),
        ("The lowest I can go is $11,000.", None, ("floor_disclosure",)),
        ("The lowest I can go is $11,500.", None, ()),
        # The listing's year in a price's place is a price (found by the property test below).
        ("I could let it go for 2018.", None, ("below_floor",)),
        ("I'd take 2018 cash", None, ("below_floor",)),
        ("The 2018 Civic is still here, $11,800.", None, ()),
        ("It's a 2018 with one owner.", None, ()),
    ],
)
def test_the_floor_rules_apply_to_a_sellers_words(
    text: str, offer: Decimal | None, reasons: tuple[str, ...]
) -> None:
    assert check_seller_reply(text, RULES, listing=CIVIC, buyer_offer=offer) == reasons


def test_the_escrow_fee_is_not_a_price() -> None:
    fee = escrow_fee(Decimal(11800))  # $106.20
    text = f"Deal at $11,800! The escrow fee is ${fee}."
    assert check_seller_reply(text, RULES, listing=CIVIC) == ("below_floor",)
    assert check_seller_reply(text, RULES, listing=CIVIC, exempt={fee}) == ()


@given(st.integers(min_value=1000, max_value=10999), st.sampled_from(["${:,}", "{:,}", "{}", "${}"]))
def test_no_amount_below_the_floor_passes_unnoticed(amount: int, shape: str) -> None:
    text = f"I could let it go for {shape.format(amount)}."
    assert "below_floor" in check_seller_reply(text, RULES, listing=CIVIC)
