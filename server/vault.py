"""Personal data at rest: Fernet encryption plus a keyed hash for exact-match lookup (blind index).

Both keys derive from DATA_KEY. During a key rotation (server/rotation.py) DATA_KEY is the new key and
DATA_KEY_PREVIOUS the old one: a MultiFernet encrypts with the new key and still decrypts with either."""
from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


def _fernet(data_key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(("fernet:" + data_key).encode()).digest()))


def key_fingerprint(data_key: str) -> str:
    """Names a key without revealing it (backups record the key they need)."""
    return hashlib.sha256(("fingerprint:" + data_key).encode()).hexdigest()[:16]


class Vault:
    def __init__(self, data_key: str, previous_key: str = ""):
        self._current = _fernet(data_key)
        self._fernet = MultiFernet([self._current, _fernet(previous_key)] if previous_key else [self._current])
        self._index_key = hashlib.sha256(("index:" + data_key).encode()).digest()

    def encrypt(self, value: str) -> bytes:
        return self._fernet.encrypt(value.encode())

    def decrypt(self, token: bytes) -> str:
        return self._fernet.decrypt(bytes(token)).decode()

    def is_current(self, token: bytes) -> bool:
        """Whether the current key alone reads this token (rotation done for it)."""
        try:
            self._current.decrypt(bytes(token))
            return True
        except InvalidToken:
            return False

    def blind_index(self, value: str) -> str:
        return hmac.new(self._index_key, value.encode(), hashlib.sha256).hexdigest()
