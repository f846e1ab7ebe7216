"""Personal data at rest: Fernet encryption plus a keyed hash for exact-match lookup (blind index)."""
from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet


class Vault:
    def __init__(self, data_key: str):
        material = hashlib.sha256(("fernet:" + data_key).encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(material))
        self._index_key = hashlib.sha256(("index:" + data_key).encode()).digest()

    def encrypt(self, value: str) -> bytes:
        return self._fernet.encrypt(value.encode())

    def decrypt(self, token: bytes) -> str:
        return self._fernet.decrypt(bytes(token)).decode()

    def blind_index(self, value: str) -> str:
        return hmac.new(self._index_key, value.encode(), hashlib.sha256).hexdigest()
