"""elastic.io message encryption (spec elasticio.md §8): AES-256-CBC with PKCS#7 padding,
key = SHA-256 of the password, one fixed 16-character IV from the environment.

Wire form by the AMQP header protocolVersion: below 2 the body is the base64 text of the
ciphertext, from 2 on the raw bytes. Without a password the JSON travels as is (still
base64-wrapped below version 2).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from typing import Any, Final

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from smsgate.core.secret import Secret
from smsgate.sailor.errors import ConfigurationError

IV_LENGTH = 16


class MessageCryptoError(ValueError):
    """A body that does not decrypt or decode: wrong password or IV, or not a platform message."""


class MessageCipher:
    def __init__(self, password: Secret | None, iv: str | None) -> None:
        self._key = hashlib.sha256(password.reveal().encode()).digest() if password else None
        self._iv = (iv or "").encode()
        if self._key is not None and len(self._iv) != IV_LENGTH:
            raise ConfigurationError(
                f"ELASTICIO_MESSAGE_CRYPTO_IV must be {IV_LENGTH} characters, "
                f"not {len(self._iv)}: set the IV the platform gave the step"
            )

    def __repr__(self) -> str:
        return f"MessageCipher(encrypted={self._key is not None})"

    def _cipher(self) -> Cipher[modes.CBC]:
        assert self._key is not None
        return Cipher(algorithms.AES(self._key), modes.CBC(self._iv))

    def encrypt_bytes(self, plaintext: bytes) -> bytes:
        if self._key is None:
            return plaintext
        padder = padding.PKCS7(algorithms.AES.block_size).padder()
        encryptor = self._cipher().encryptor()
        padded = padder.update(plaintext) + padder.finalize()
        return encryptor.update(padded) + encryptor.finalize()

    def decrypt_bytes(self, ciphertext: bytes) -> bytes:
        if self._key is None:
            return ciphertext
        try:
            decryptor = self._cipher().decryptor()
            padded = decryptor.update(ciphertext) + decryptor.finalize()
            unpadder = padding.PKCS7(algorithms.AES.block_size).unpadder()
            return unpadder.update(padded) + unpadder.finalize()
        except ValueError:
            raise MessageCryptoError(
                "the message does not decrypt: check the step's password and IV"
            ) from None

    def encode(self, message: Any, protocol_version: int) -> bytes:
        """A message object as an AMQP body for this protocol version."""
        sealed = self.encrypt_bytes(to_json(message).encode())
        return base64.b64encode(sealed) if protocol_version < 2 else sealed

    def decode(self, body: bytes, protocol_version: int) -> Any:
        """An AMQP body back to the message object."""
        try:
            sealed = base64.b64decode(body, validate=True) if protocol_version < 2 else body
        except binascii.Error:
            raise MessageCryptoError(
                "the message is not base64 as protocol version 1 says"
            ) from None
        try:
            return json.loads(self.decrypt_bytes(sealed))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise MessageCryptoError("the decrypted message is not JSON") from None

    def seal_base64(self, message: Any) -> str:
        """base64(encrypt(JSON)): how error bodies carry the error and its input (§9)."""
        return base64.b64encode(self.encode(message, 2)).decode()


_LONE_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def to_json(message: Any) -> str:
    """JSON as Node's JSON.stringify writes it: UTF-8 text, a lone UTF-16 surrogate (a cut
    emoji, which JavaScript strings may hold and JSON.parse reads back) escaped as \\udXXX,
    never a crash. A Python string holds a valid pair as one code point, so a surrogate left
    in it is always a lone one."""
    text = json.dumps(message, ensure_ascii=False)
    if _LONE_SURROGATE.search(text) is None:
        return text
    return _LONE_SURROGATE.sub(lambda found: f"\\u{ord(found.group()):04x}", text)
