"""The provider contract: one suite every registered provider passes against its emulator.

Like Symfony Notifier's ``TransportTestCase``: each provider is a row of :data:`CASES` (how to
reach its emulator, a DSN it refuses, numbers it takes); everything below runs for every row,
over real sockets. A provider must have the methods of an optional operation exactly when it
declares the ability, and each one it declares must work against its emulator. Webhooks are
read from recorded payloads in ``tests/data/webhooks/<provider>/``. What is specific to one
provider stays in its own test file.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from smsgate.core.dsn import Dsn
from smsgate.core.errors import Unsupported
from smsgate.core.receipts import Receipt, Reply
from smsgate.core.remote import MessageQuery
from smsgate.core.report import RecipientStatus, SendReport
from smsgate.gateway import Gateway
from smsgate.providers import REGISTRY, provider_from_dsn
from smsgate.providers.base import OPTIONAL_OPERATIONS
from smsgate.sandbox.emulator import sandbox_dsn
from smsgate.sandbox.emulators import BY_NAME
from smsgate.sandbox.server import BackgroundSandbox
from tests.conftest import FAST_RETRY, inbox

WEBHOOKS = Path(__file__).parent / "data" / "webhooks"


@dataclass(frozen=True)
class Case:
    name: str
    refused_dsn: Callable[[BackgroundSandbox], str]
    """A DSN whose credentials the emulator refuses."""
    numbers: tuple[str, str, str]


CASES = {
    "allmysms": Case(
        "allmysms",
        lambda s: s.dsn("nobody", "wrong"),
        ("0612345678", "+33612345679", "0033612345670"),
    ),
    "messangi": Case(
        "messangi",
        lambda s: s.messangi_dsn(api_key="wrong-key"),
        ("0612345678", "+33612345679", "+447700900001"),
    ),
    "smsworks": Case(
        "smsworks",
        lambda s: sandbox_dsn("smsworks", "JWT not-a-token", s.host, s.port),
        ("+447700900001", "+447700900002", "07700900003"),
    ),
}
NAMES = sorted(REGISTRY)


def test_every_registered_provider_has_an_emulator_and_a_contract_case() -> None:
    assert sorted(CASES) == NAMES
    assert sorted(BY_NAME) == NAMES


@pytest.fixture(params=NAMES)
def case(request: pytest.FixtureRequest) -> Case:
    return CASES[str(request.param)]


@pytest.fixture
def gateway(case: Case, sandbox: BackgroundSandbox) -> Iterator[Gateway]:
    with Gateway.from_dsn(sandbox.dsn_for(case.name), retry=FAST_RETRY, env={}) as gw:
        yield gw


def _send(gateway: Gateway, case: Case, count: int = 1, **options: Any) -> SendReport:
    report = gateway.send(list(case.numbers[:count]), "Contract test", sender="ACME", **options)
    return report


def test_declared_abilities_match_the_methods(case: Case, gateway: Gateway) -> None:
    provider = gateway.endpoint.provider
    for ability, methods in OPTIONAL_OPERATIONS.items():
        declared = bool(getattr(REGISTRY[case.name].capabilities, ability))
        # A DSN may change a batch size, never what the provider can do.
        assert bool(getattr(provider.capabilities, ability)) is declared, ability
        for method in methods:
            assert hasattr(provider, method) is declared, f"{case.name}.{method} vs {ability}"


def test_the_registry_builds_the_provider_from_its_scheme(case: Case) -> None:
    provider = provider_from_dsn(Dsn.parse(f"{case.name}://user:ZZSECRETZZ@default"))
    assert provider.name == case.name
    assert "ZZSECRETZZ" not in repr(provider) + provider.describe()
    assert provider.rate_key


def test_send_one(case: Case, gateway: Gateway, sandbox: BackgroundSandbox) -> None:
    report = _send(gateway, case)
    assert [r.status for r in report.recipients] == [RecipientStatus.SENT]
    assert report.recipients[0].provider_message_id
    assert len(inbox(sandbox)) == 1


def test_send_many(case: Case, gateway: Gateway, sandbox: BackgroundSandbox) -> None:
    report = _send(gateway, case, 3)
    assert report.accepted == 3
    # Each SMS can be found again: by its own id, or by its batch's (The SMS Works' /batch).
    ids = {r.provider_message_id for r in report.recipients}
    assert len(ids) == 3 or all(r.campaign_id for r in report.requests)
    assert len(inbox(sandbox)) == 3


def test_refused_credentials_stop_the_send_and_nothing_arrives(
    case: Case, sandbox: BackgroundSandbox
) -> None:
    with Gateway.from_dsn(case.refused_dsn(sandbox), retry=FAST_RETRY, env={}) as gateway:
        report = _send(gateway, case, 3)
    assert report.accepted == 0
    assert all(r.status is not RecipientStatus.UNKNOWN for r in report.recipients)
    assert all(r.error for r in report.recipients)
    assert inbox(sandbox) == []


def test_a_bad_sender_is_refused_before_any_request(
    case: Case, gateway: Gateway, sandbox: BackgroundSandbox
) -> None:
    with pytest.raises(Exception, match="sender"):
        gateway.send(case.numbers[0], "Hi", sender="no spaces allowed here")
    assert inbox(sandbox) == []


def _exercise(ability: str, gateway: Gateway, case: Case) -> None:
    """Use one declared optional operation against the emulator."""
    later = datetime.now(UTC) + timedelta(days=1)
    if ability == "credits":
        assert gateway.info().credits is not None
    elif ability == "receipts_pull":
        campaign = _send(gateway, case, 2).requests[0].campaign_id
        assert isinstance(gateway.receipts(campaign or ""), list)
    elif ability == "replies_pull":
        assert isinstance(gateway.replies(), list)
    elif ability == "opt_outs_pull":
        assert isinstance(gateway.opt_outs(), list)
    elif ability == "cancel":
        scheduled = _send(gateway, case, 2, scheduled_at=later)
        assert scheduled.recipients[0].status is RecipientStatus.SCHEDULED
        gateway.cancel(scheduled.requests[0].campaign_id or "")
    elif ability == "lookup":
        sent = _send(gateway, case).recipients[0].provider_message_id or ""
        receipt = gateway.lookup(sent)
        assert receipt.provider_message_id == sent
    elif ability == "search":
        many = _send(gateway, case, 2)
        assert gateway.search(MessageQuery())
        assert isinstance(gateway.scheduled(), list)
        assert gateway.batch_messages(many.requests[0].campaign_id or "")
    elif ability == "inbound":
        assert isinstance(gateway.inbound(), list)
    elif ability == "delete":
        sent = _send(gateway, case).recipients[0].provider_message_id or ""
        gateway.delete(sent)
    elif ability == "customer_id":
        assert gateway.customer_id()
    else:  # pragma: no cover - a new ability needs its line here
        raise AssertionError(f"the contract does not exercise {ability!r} yet")


@pytest.mark.parametrize("ability", sorted(OPTIONAL_OPERATIONS))
def test_every_optional_operation_works_or_is_refused_naming_who_can(
    ability: str, case: Case, gateway: Gateway
) -> None:
    if getattr(REGISTRY[case.name].capabilities, ability):
        _exercise(ability, gateway, case)
        return
    method = OPTIONAL_OPERATIONS[ability][0]
    call = {
        "account": gateway.info,
        "receipts": lambda: gateway.receipts("x"),
        "replies": gateway.replies,
        "opt_outs": gateway.opt_outs,
        "cancel": lambda: gateway.cancel("x"),
        "lookup": lambda: gateway.lookup("x"),
        "search": lambda: gateway.search(MessageQuery()),
        "inbound": gateway.inbound,
        "delete": lambda: gateway.delete("x"),
        "customer_id": gateway.customer_id,
    }[method]
    able = [n for n in NAMES if getattr(REGISTRY[n].capabilities, ability)]
    with pytest.raises(Unsupported, match=f"^{case.name} cannot") as refused:
        call()
    for name in able:
        assert name in str(refused.value)


def _recorded(name: str) -> list[Path]:
    return sorted((WEBHOOKS / name).glob("*.json"))


@pytest.mark.parametrize(
    ("name", "path"),
    [(name, path) for name in NAMES for path in _recorded(name)],
    ids=lambda value: value.stem if isinstance(value, Path) else str(value),
)
def test_recorded_webhooks_are_read(name: str, path: Path) -> None:
    recorded = json.loads(path.read_text(encoding="utf-8"))
    provider = provider_from_dsn(Dsn.parse(f"{name}://user:key@default"))
    expect = recorded["expect"]
    if expect["kind"] == "error":
        with pytest.raises(ValueError, match=r"\w"):
            provider.read_webhook(recorded["fields"])
        return
    event = provider.read_webhook(recorded["fields"])
    assert event.provider == name
    if expect["kind"] == "reply":
        assert isinstance(event, Reply)
        assert (event.sender, event.text) == (expect["sender"], expect["text"])
        assert event.provider_message_id == expect["provider_message_id"]
        return
    assert isinstance(event, Receipt)
    assert event.status.value == expect["status"]
    assert event.permanent is expect["final"]
    assert event.provider_message_id == expect["provider_message_id"]
    assert event.recipient == expect["recipient"]


def test_every_provider_has_recorded_webhooks() -> None:
    for name in NAMES:
        kinds = {json.loads(p.read_text())["expect"]["kind"] for p in _recorded(name)}
        assert {"receipt", "error"} <= kinds, name
