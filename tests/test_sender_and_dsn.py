"""Sender names, DSNs and secrets that never show."""

from __future__ import annotations

import pytest

from smsgate.core.dsn import Dsn
from smsgate.core.errors import ConfigurationError, InvalidSender
from smsgate.core.secret import Secret
from smsgate.core.sender import check_sender
from smsgate.gateway import Gateway
from smsgate.providers.allmysms import ALPHANUMERIC_NAME, AllMySms
from smsgate.sandbox.server import BackgroundSandbox
from tests.conftest import FAST_RETRY, inbox


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


@pytest.mark.parametrize(
    "text",
    [
        "messangi://ZZSECRETZZ@",
        "smsworks://ZZSECRETZZ@host:port",
        "ZZSECRETZZ",
        "messangi+ftp://ZZSECRETZZ@host",
        "allmysms://login:ZZSECRETZZ@",
    ],
)
def test_the_user_part_is_a_credential_too(text: str) -> None:
    """Messangi's key and The SMS Works' token sit in the user part: never shown either."""
    with pytest.raises(ConfigurationError) as caught:
        Dsn.parse(text).origin("https://default.invalid")
    assert "ZZSECRETZZ" not in str(caught.value)
    if "://" in text and "port" not in text:
        dsn = Dsn.parse(text)
        assert "ZZSECRETZZ" not in repr(dsn) + str(dsn) + dsn.masked()


def test_secret_cannot_be_pickled() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Secret("x"))


@pytest.mark.parametrize(
    ("dsn", "named"),
    [
        ("allmysms://me:key@default?batchsize=500", "'batchsize'"),
        ("messangi://KEY@default?callback=http://x", "'callback'"),
        ("smsworks://TOKEN@default?deliveryReportUrl=http://x", "'deliveryReportUrl'"),
        ("sandbox://?batch_size=5", "'batch_size'"),
    ],
)
def test_an_option_nobody_reads_is_refused(dsn: str, named: str) -> None:
    with pytest.raises(ConfigurationError, match=f"unknown option {named}") as caught:
        Gateway.from_dsn(dsn, env={})
    assert "takes" in str(caught.value) and "from" in str(caught.value)


def test_the_dsn_from_option_is_the_default_sender(sandbox: BackgroundSandbox) -> None:
    with Gateway.from_dsn(sandbox.dsn() + "?from=Acme", retry=FAST_RETRY, env={}) as gateway:
        gateway.send("0612345678", "Hi")
        gateway.send("0612345679", "Hi", sender="Other")
        with pytest.raises(InvalidSender):
            gateway.send("0612345670", "Hi", sender="not valid!")
    shown = {m["to"]: m["sender_requested"] for m in inbox(sandbox)}
    assert shown == {"33612345678": "Acme", "33612345679": "Other"}
    messangi = Gateway.from_dsn(sandbox.messangi_dsn(**{"from": "ACME"}), env={})
    with messangi:
        assert messangi.send("0612345678", "Hi").accepted == 1  # Messangi needs a sender
