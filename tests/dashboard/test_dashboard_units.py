"""Pure parts of the dashboard: tokens and the window countdown."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from accorria_agent.dashboard.auth import TokenError, decode_seller_token, issue_seller_token
from accorria_agent.dashboard.service import _seconds_left
from accorria_agent.settings import Settings

Make = Callable[..., Settings]
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_a_token_round_trips_and_is_bound_to_its_secret(make_settings: Make) -> None:
    settings = make_settings()
    token = issue_seller_token(settings, 42, timedelta(minutes=5))
    assert decode_seller_token(settings, token) == 42
    with pytest.raises(TokenError):
        decode_seller_token(make_settings(JWT_SECRET="z" * 40), token)
    with pytest.raises(TokenError):
        decode_seller_token(settings, issue_seller_token(settings, 42, -1))


@pytest.mark.parametrize("secret", ["", "short-secret"])
def test_no_token_is_issued_or_accepted_with_a_weak_secret(make_settings: Make, secret: str) -> None:
    strong = make_settings()
    weak = make_settings(JWT_SECRET=secret)
    with pytest.raises(TokenError):
        issue_seller_token(weak, 1, 60)
    with pytest.raises(TokenError):
        decode_seller_token(weak, issue_seller_token(strong, 1, 60))


@pytest.mark.parametrize("seller_id", [0, -1, True])
def test_only_real_seller_ids_get_tokens(make_settings: Make, seller_id: int) -> None:
    with pytest.raises(ValueError):
        issue_seller_token(make_settings(), seller_id, 60)


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        (None, (0, 0)),
        (NOW - timedelta(hours=3), (21 * 3600, 7 * 86400 - 3 * 3600)),
        (NOW - timedelta(hours=30), (0, 7 * 86400 - 30 * 3600)),
        (NOW - timedelta(days=8), (0, 0)),
        # A buyer timestamp ahead of our clock never shows more than the window itself.
        (NOW + timedelta(hours=30), (24 * 3600, 7 * 86400)),
    ],
)
def test_the_countdown_of_both_windows(last: datetime | None, expected: tuple[int, int]) -> None:
    assert _seconds_left(NOW, last) == expected
