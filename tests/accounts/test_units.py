"""Properties of the pure parts: email normalisation, the password policy, tokens and their hashes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from accorria_agent.accounts.passwords import (
    MAX_LENGTH,
    MIN_LENGTH,
    hash_password,
    password_problems,
    verify_password,
)
from accorria_agent.accounts.schemas import normalise_email
from accorria_agent.accounts.secrets import new_token, plausible_token, same, token_hash


@given(st.text(max_size=400))
def test_normalise_email_is_idempotent_or_refuses(value: str) -> None:
    try:
        email = normalise_email(value)
    except ValueError:
        return
    assert normalise_email(email) == email == email.strip().lower()
    assert email.count("@") == 1 and len(email) <= 320


@given(st.text(max_size=200), st.emails())
def test_password_policy_never_crashes_and_enforces_length(password: str, email: str) -> None:
    problems = password_problems(password, email=email)
    assert isinstance(problems, list)
    if len(password) < MIN_LENGTH or len(password) > MAX_LENGTH:
        assert problems
    assert password_problems(email, email=email)  # the email itself is refused


@given(st.text(max_size=300))
def test_plausible_token_accepts_only_bounded_url_safe_text(value: str) -> None:
    if plausible_token(value):
        assert 0 < len(value) <= 128 and all(c.isascii() for c in value)
    assert len(token_hash(value)) == 64  # any text hashes, lone surrogates included


def test_new_tokens_are_unique_plausible_and_stored_only_as_hashes() -> None:
    tokens = {new_token() for _ in range(200)}
    assert len(tokens) == 200 and all(plausible_token(t) and len(t) >= 43 for t in tokens)
    token = next(iter(tokens))
    assert token_hash(token) != token and same(token_hash(token), token_hash(token))
    assert not same(token, token + "x")


@pytest.mark.parametrize("password", ["correct horse battery", "ünïcödé pässwörd", "x" * MAX_LENGTH])
async def test_argon2id_round_trip(password: str) -> None:
    stored = await hash_password(password)
    assert stored.startswith("$argon2id$") and password not in stored
    assert await verify_password(stored, password)
    assert not await verify_password(stored, password + "!")
    assert not await verify_password("not a hash", password)
