"""Encrypting calendar credentials at rest. Each ciphertext is stored with the id of the key
that made it, so keys can rotate: the first key encrypts, every listed key still decrypts."""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from scheduler.errors import ConfigError, NeedsReconnect
from scheduler.settings import Settings


class CredentialCipher:
    def __init__(self, keys: dict[str, bytes]) -> None:
        if not keys:
            raise ConfigError("no encryption key configured", field="encryption_keys")
        self.current_key_id = next(iter(keys))
        self._fernets = {key_id: Fernet(key) for key_id, key in keys.items()}

    @classmethod
    def from_settings(cls, settings: Settings) -> CredentialCipher:
        """Keys from NEXTSTEP_ENCRYPTION_KEYS; without them, one derived from the secret key."""
        if settings.encryption_keys:
            return cls(_parse_keys(settings.encryption_keys))
        if not settings.secret_key:
            raise ConfigError("set NEXTSTEP_ENCRYPTION_KEYS or NEXTSTEP_SECRET_KEY to store "
                              "calendar credentials", field="encryption_keys")
        derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None,
                       info=b"nextstep credentials").derive(settings.secret_key.encode())
        return cls({"sk": base64.urlsafe_b64encode(derived)})

    def encrypt(self, credentials: dict[str, Any]) -> tuple[str, bytes]:
        data = json.dumps(credentials, sort_keys=True).encode()
        return self.current_key_id, self._fernets[self.current_key_id].encrypt(data)

    def decrypt(self, key_id: str | None, token: bytes | None) -> dict[str, Any]:
        fernet = self._fernets.get(key_id or "")
        if fernet is None or token is None:
            raise NeedsReconnect(f"credentials were encrypted with key {key_id!r}, which is "
                                 "no longer configured")
        try:
            return json.loads(fernet.decrypt(token))
        except InvalidToken:
            raise NeedsReconnect("stored credentials cannot be decrypted") from None


def _parse_keys(spec: str) -> dict[str, bytes]:
    keys: dict[str, bytes] = {}
    for part in filter(None, (item.strip() for item in spec.split(","))):
        key_id, sep, key = part.partition(":")
        if not sep or not key_id or not key:
            raise ConfigError("encryption_keys must be 'id:fernet_key,...'",
                              field="encryption_keys")
        try:
            Fernet(key.encode())
        except ValueError:
            raise ConfigError(f"encryption key {key_id!r} is not a Fernet key",
                              field="encryption_keys") from None
        keys[key_id] = key.encode()
    return keys
