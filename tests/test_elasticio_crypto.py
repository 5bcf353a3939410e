"""elastic.io message crypto against vectors made independently with openssl (tests/data)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.core.secret import Secret
from smsgate.sailor.crypto import MessageCipher, MessageCryptoError
from smsgate.sailor.errors import ConfigurationError

VECTOR = json.loads((Path(__file__).parent / "data" / "elasticio_openssl_vector.json").read_text())
CIPHER = MessageCipher(Secret(VECTOR["password"]), VECTOR["iv"])
MESSAGE = json.loads(VECTOR["message"])


def test_decrypts_what_openssl_encrypted_in_both_protocol_versions() -> None:
    as_base64 = VECTOR["ciphertext_base64"].encode()
    assert CIPHER.decode(as_base64, 1) == MESSAGE
    assert CIPHER.decode(base64.b64decode(as_base64), 2) == MESSAGE


def test_encrypts_exactly_as_openssl_does() -> None:
    assert CIPHER.encrypt_bytes(VECTOR["message"].encode()) == base64.b64decode(
        VECTOR["ciphertext_base64"]
    )


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=20,
    )
)
def test_round_trip_in_both_versions(message: object) -> None:
    for version in (1, 2):
        assert CIPHER.decode(CIPHER.encode(message, version), version) == message


def test_without_a_password_the_json_travels_as_is() -> None:
    plain = MessageCipher(None, None)
    assert plain.encode({"a": 1}, 2) == b'{"a": 1}'
    assert plain.encode({"a": 1}, 1) == base64.b64encode(b'{"a": 1}')
    assert plain.decode(base64.b64encode(b'{"a": 1}'), 1) == {"a": 1}


def test_wrong_password_or_garbage_is_a_clear_error() -> None:
    body = CIPHER.encode(MESSAGE, 2)
    with pytest.raises(MessageCryptoError, match="password and IV"):
        MessageCipher(Secret("other"), VECTOR["iv"]).decode(body, 2)
    with pytest.raises(MessageCryptoError, match="not base64"):
        CIPHER.decode(b"not base64 !!", 1)


def test_the_iv_must_have_16_characters_and_the_password_never_shows() -> None:
    with pytest.raises(ConfigurationError, match="16 characters"):
        MessageCipher(Secret("x"), "short")
    assert VECTOR["password"] not in repr(CIPHER)


def test_a_lone_surrogate_is_escaped_as_node_writes_it_never_a_crash() -> None:
    """JSON.stringify writes a cut emoji as \\ud83d; it must come back out the same way."""
    cipher = CIPHER
    cut = {"body": {"message": "Hi \ud83d", "pair": "\U0001f600"}}
    for version in (1, 2):
        body = cipher.encode(cut, version)
        assert cipher.decode(body, version) == cut
        sealed = base64.b64decode(body) if version < 2 else body
        text = cipher.decrypt_bytes(sealed).decode("utf-8")  # valid UTF-8
        assert "\\ud83d" in text and "\U0001f600" in text


@given(st.recursive(st.text(), lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner)))
def test_any_json_value_survives_the_codec(value: object) -> None:
    cipher = CIPHER
    for version in (1, 2):
        assert cipher.decode(cipher.encode({"v": value}, version), version) == {"v": value}


def test_header_values_use_the_amqp_types_amqplib_reads() -> None:
    """Signed integers by width (b/s/I/l) and 64-bit floats ('d'), as the Node.js sailor writes."""
    from pamqp import decode, encode

    from smsgate.sailor.wire import use_platform_field_types

    use_platform_field_types()
    use_platform_field_types()  # idempotent
    cases = {
        100: b"b",
        32767: b"s",
        40000: b"I",
        -2147483648: b"I",
        3000000000: b"l",
        2**63 - 1: b"l",
        0.1: b"d",
    }
    for value, tag in cases.items():
        assert encode.encode_table_value(value)[:1] == tag, value
        table = encode.field_table({"v": value, "nested": {"v": value}, "list": [value]})
        _, read = decode.field_table(table)
        assert read == {"v": value, "nested": {"v": value}, "list": [value]}
