"""Sender names, DSNs and secrets that never show."""

from __future__ import annotations

import pytest

from smsgate.core.dsn import Dsn
from smsgate.core.errors import ConfigurationError, InvalidSender
from smsgate.core.secret import Secret
from smsgate.core.sender import check_sender
from smsgate.providers.allmysms import ALPHANUMERIC_NAME, AllMySms


@pytest.mark.parametrize("sender", ["ACM", "Acme2024", "A" * 11])
def test_good_senders(sender: str) -> None:
    assert check_sender(sender, ALPHANUMERIC_NAME) == sender


@pytest.mark.parametrize("sender", ["AB", "A" * 12, "1ACME", "ACME-CO", "Café", "AC ME"])
def test_bad_senders_say_the_rule(sender: str) -> None:
    with pytest.raises(InvalidSender, match="3 to 11 letters or digits starting with a letter"):
        check_sender(sender, ALPHANUMERIC_NAME)


def test_no_sender_means_the_short_code() -> None:
    assert (
        check_sender(None, ALPHANUMERIC_NAME) is None
        and check_sender("", ALPHANUMERIC_NAME) is None
    )


def test_dsn_parts_and_masking() -> None:
    dsn = Dsn.parse("allmysms+http://me:pa%40ss5word@127.0.0.1:8025?batch_size=10")
    assert (dsn.scheme, dsn.transport, dsn.user, dsn.host, dsn.port) == (
        "allmysms",
        "http",
        "me",
        "127.0.0.1",
        8025,
    )
    assert dsn.password.reveal() == "pa@ss5word"
    assert dsn.options == {"batch_size": "10"}
    for shown in (repr(dsn), str(dsn), dsn.masked(), f"{dsn.password}", repr(dsn.password)):
        assert "ss5word" not in shown


def test_provider_repr_masks_the_key() -> None:
    provider = AllMySms.from_dsn(Dsn.parse("allmysms://me:topsecret@default"))
    assert "topsecret" not in repr(provider) and "topsecret" not in provider.describe()
    assert provider.base_url == "https://api.allmysms.com/http/9.0"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nonsense", "has no scheme"),
        ("allmysms://me:topsecret@host:port", "port that is not a number"),
        ("allmysms://me:topsecret@default?batch_size=0", "batch_size"),
        ("allmysms+ftp://me:topsecret@host", "unknown transport"),
    ],
)
def test_bad_dsns_are_clear_and_masked(text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message) as caught:
        AllMySms.from_dsn(Dsn.parse(text))
    assert "topsecret" not in str(caught.value)


def test_secret_cannot_be_pickled() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Secret("x"))
