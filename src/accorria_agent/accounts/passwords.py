"""Password hashing (Argon2id via argon2-cffi) and the password policy.

The policy follows NIST SP 800-63B: a minimum length, no composition rules, refuse very common
passwords and the account's own email; at most 128 characters so that hashing stays bounded.
"""

from __future__ import annotations

import asyncio
import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_LENGTH = 10
MAX_LENGTH = 128
# The most common passwords of at least MIN_LENGTH characters in public breach lists.
COMMON_PASSWORDS = frozenset(
    {
        "1234567890",
        "12345678910",
        "123456789a",
        "0987654321",
        "1q2w3e4r5t",
        "qwertyuiop",
        "password12",
        "password123",
        "password1234",
        "iloveyou12",
        "qwerty1234",
        "qwerty12345",
        "1qaz2wsx3edc",
        "letmein123",
        "welcome123",
        "abcdefghij",
        "aaaaaaaaaa",
        "passw0rd123",
        "football123",
        "changeme123",
    }
)

# OWASP's Argon2id baseline (m=19 MiB, t=2, p=1): ~50 ms on an idle core. argon2-cffi's default
# (64 MiB, t=3, p=4) took ~1 s on the shared 2-core host and would make sign-in a denial-of-service lever.
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def password_problems(password: str, *, email: str = "") -> list[str]:
    """Human-readable reasons ``password`` is refused; empty when it is acceptable."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        problems.append(f"the password must have at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in COMMON_PASSWORDS or len(set(password)) < 4:
        problems.append("this password is too common or too simple; choose a less predictable one")
    if email and (lowered == email.lower() or lowered == email.lower().split("@")[0]):
        problems.append("the password must not be your email address")
    return problems


async def hash_password(password: str) -> str:
    """Argon2id hash of ``password``, computed off the event loop (it takes ~50 ms of CPU by design)."""
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches the stored hash (constant-time inside argon2)."""

    def check() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)


@functools.cache
def dummy_hash() -> str:
    """Verified against when the email is unknown, so that timing does not tell which emails exist."""
    return _hasher.hash("not-a-real-password-0f3c1e")
