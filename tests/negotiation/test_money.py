"""Offer amounts: what must be read as an offer, and the numbers that must never be taken for one."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accorria_agent.negotiation.lexicon import normalize, words_to_digits
from accorria_agent.negotiation.money import find_offer, prepare
from accorria_agent.negotiation.understanding import understand


def offer_of(text: str, asking: int | None = None) -> Decimal | None:
    return understand(text, None if asking is None else Decimal(asking)).offer


@pytest.mark.parametrize(
    ("text", "asking", "expected"),
    [
        ("11,000", None, 11000),
        ("I can offer $10,750.00", None, 10750),
        ("would you take 11k?", None, 11000),
        ("11.5k?", None, 11500),
        ("would you take 7.9", 8500, 7900),
        ("can you do 8", 8500, 8000),
        ("would you do 22?", 25000, 22000),
        ("I can do seven grand", None, 7000),
        ("eight thousand cash", None, 8000),
        ("would you take seventy five hundred?", 9000, 7500),
        ("500 off?", 8500, 8000),
        ("1k less than asking?", 8500, 7500),
        ("would you knock off a grand?", 9000, 8000),
        ("7,000-7,500", None, 7000),
        ("somewhere between 11 and 12k?", 13000, 11000),
        ("7500 obo", None, 7500),
        ("te doy 7000", None, 7000),
        ("ofrezco 6500", None, 6500),
        ("le doy 7 mil", 8000, 7000),
        ("te doy siete mil quinientos", 8000, 7500),
        ("Mi oferta es 7.500", 8000, 7500),
        ("KBB says 8500, would you take 8000?", None, 8000),
        ("would you take 8?", 8500, 8000),
        ("would you take 22 hundred", 2500, 2200),
        ("can u let it go for 85", 9500, 8500),
        ("I only have 8000", None, 8000),
        ("my budget is 8k", 9000, 8000),
        ("ok 11.8k", 12500, 11800),
        ("wuld u take 7k", 8500, 7000),
        ("I got 8 racks cash", 9000, 8000),
        ("is 4500 doable?", 6000, 4500),
        ("Would you accept 8000 for it? I can come at 5", 9000, 8000),
    ],
)
def test_reads_offer(text: str, asking: int | None, expected: int) -> None:
    assert offer_of(text, asking) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "asking"),
    [
        ("Is the 2015 still available?", 8500),
        ("it has 120k miles on it", 8500),
        ("120,000 mi, is that right?", 8500),
        ("2015 civic with 90k", None),
        ("call me 313-555-0147", 8500),
        ("my number is (248) 555-0199", None),
        ("I'm in 48201", 8500),
        ("My zip is 48201", 50000),
        ("can I come at 5", 8500),
        ("5pm tomorrow?", 8500),
        ("Can I see it at 6:30 today?", 8500),
        ("Can I see it at 9 tomorrow morning", 8500),
        ("I have 2 kids", 8500),
        ("does it have 4 tires", 8500),
        ("I have 8 questions", 8500),
        ("I'm 5 minutes away", 8500),
        ("the dealer down the street has one for 9k", None),
        ("KBB says 8,500", None),
        ("I paid 9k for mine in 2019", 8500),
        ("My cousin bought the same model last year for 10k", 9500),
        ("is it still 8500?", 8500),
        ("would you take 8?", None),
        ("Can I put $2000 down and pay the rest monthly?", 8500),
        ("would you do payments of 500 a month?", 8500),
        ("$500 deposit to hold it?", None),
        ("Please pay the $50 refundable deposit", 8500),
        ("would you take 7k plus my 2009 Corolla?", 9500),
        ("what's the lowest you'd take", 8500),
        ("", 8500),
    ],
)
def test_not_an_offer(text: str, asking: int | None) -> None:
    assert offer_of(text, asking) is None


def test_relative_offer_without_asking_price_is_haggle_not_an_invented_amount() -> None:
    result = understand("500 off?")
    assert result.offer is None
    assert result.intent.value == "haggle"
    assert find_offer(prepare(normalize("500 off?")), None).relative_unresolved


def test_first_valid_offer_wins() -> None:
    assert offer_of("I can do 7000, maybe 7500 if you throw in the mats", 9000) == Decimal(7000)


def test_offer_is_whole_dollars() -> None:
    assert offer_of("$8,250.50 cash", None) == Decimal(8251)


@pytest.mark.parametrize(
    ("words", "digits"),
    [
        ("seven grand", "7k"),
        ("eight thousand", "8k"),
        ("seventy five hundred", "7.5k"),
        ("seven and a half grand", "7.5k"),
        ("siete mil quinientos", "7.5k"),
        ("setenta y cinco", "75"),
        ("120 thousand miles", "120 thousand miles"),
    ],
)
def test_number_words(words: str, digits: str) -> None:
    assert words_to_digits(words) == digits
