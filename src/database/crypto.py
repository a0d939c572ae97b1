"""Encryption at rest for tenant credentials (Fernet, key derived from ``SECRET_KEY``)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken

from src.errors import ConfigError


class SecretBox:
    """Encrypts and decrypts short secrets such as SDP API keys and webhook secrets."""

    def __init__(self, key_material: bytes) -> None:
        digest = hashlib.sha256(key_material).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def encrypt(self, plaintext: str) -> str:
        """Return a URL-safe token holding ``plaintext``."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        """Return the plaintext; a token made with another key is a configuration error."""
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise ConfigError(
                "Cannot decrypt a stored tenant secret: SECRET_KEY differs from the key "
                "it was stored with (re-add the tenant or restore SECRET_KEY)"
            ) from exc
