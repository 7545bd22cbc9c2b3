"""Encryption at rest for Page access tokens (Fernet; several comma-separated keys for rotation).

The first key encrypts; every key decrypts, so an operator rotates by prepending a new key, running
``accorria-agent rotate-keys`` (re-encrypts), then dropping the old one.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class TokenCipherError(ValueError):
    """A key is malformed or a token cannot be decrypted with any configured key."""


class TokenCipher:
    """Encrypts and decrypts secrets with ``ENCRYPTION_KEY`` (one or more Fernet keys)."""

    def __init__(self, keys: str) -> None:
        parts = [part.strip() for part in keys.split(",") if part.strip()]
        if not parts:
            raise TokenCipherError("ENCRYPTION_KEY is empty")
        try:
            self._newest = Fernet(parts[0].encode())
            self._fernet = MultiFernet([Fernet(part.encode()) for part in parts])
        except (ValueError, TypeError) as error:
            raise TokenCipherError(
                "ENCRYPTION_KEY must be comma-separated Fernet keys (32 url-safe base64 bytes each)"
            ) from error

    @staticmethod
    def generate_key() -> str:
        return Fernet.generate_key().decode()

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as error:
            raise TokenCipherError("token cannot be decrypted with the configured keys") from error

    def is_current(self, token: str) -> bool:
        """Whether ``token`` is already encrypted with the newest key (``rotate-keys`` skips it)."""
        try:
            self._newest.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def rotate(self, token: str) -> str:
        """Re-encrypt ``token`` with the first (newest) key."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as error:
            raise TokenCipherError("token cannot be decrypted with the configured keys") from error
