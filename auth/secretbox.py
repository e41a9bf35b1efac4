"""Encrypts access-key secrets at rest with a server key kept in the data directory."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

KEY_FILE = "server.key"
_VERSION = b"\x01"


class SecretBox:
    """AES-256-GCM with a random nonce; the key id byte allows rotation later."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("server key must be 32 bytes")
        self._aead = AESGCM(key)

    @classmethod
    def load_or_create(cls, data_dir: Path) -> SecretBox:
        """Read `DATA/server.key`, creating it (mode 0600) on first use."""
        path = data_dir / KEY_FILE
        data_dir.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Write aside, then link into place: atomic, and a concurrent first start
            # (server and CLI together) keeps whichever key landed first.
            tmp = data_dir / f".{KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_bytes(32).hex() + "\n")
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return cls(bytes.fromhex(path.read_text().strip()))

    def encrypt(self, plaintext: str, associated: str) -> bytes:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), associated.encode())
        return _VERSION + nonce + sealed

    def decrypt(self, blob: bytes, associated: str) -> str:
        if blob[:1] != _VERSION:
            raise ValueError("unknown secret format")
        return self._aead.decrypt(blob[1:13], blob[13:], associated.encode()).decode()
