"""Opt-outs: a STOP reply keeps its sender from later sends, by webhook and by sync, on each
database; the provider's own list is read in; numbers are added and removed by hand (CLI and
API); ``--ignore-opt-out`` sends anyway. Over real sockets to the sandbox."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.core.optout import DEFAULT, DEFAULT_KEYWORDS, OPTED_OUT, OptOutKeywords
from smsgate.gateway import Gateway
from smsgate.sandbox.allmysms.emulator import AllMySmsEmulator
from smsgate.sandbox.server import BackgroundApp, BackgroundSandbox
from smsgate.service.app import ServiceConfig, create_app
from smsgate.store import Store
from tests.conftest import FAST_RETRY, WAIT, inbox
from tests.test_cli import run as run_cli

KEY = "optout-key"
SECRET = "optout-secret"

# -- which replies opt out ---------------------------------------------------------------------

_AROUND = st.text(alphabet=" \t\n.!?,;:'\"()-*~", max_size=4)


def _any_case(text: str, flips: list[bool]) -> str:
    padded = (flips + [False] * len(text))[: len(text)]
    return "".join(c.swapcase() if flip else c for c, flip in zip(text, padded, strict=True))


@given(
    keyword=st.sampled_from(DEFAULT_KEYWORDS),
    flips=st.lists(st.booleans(), max_size=20),
    before=_AROUND,
    after=_AROUND,
)
def test_a_keyword_opts_out_in_any_case_with_punctuation_around(
    keyword: str, flips: list[bool], before: str, after: str
) -> None:
    assert DEFAULT.match(before + _any_case(keyword, flips) + after)


@given(keyword=st.sampled_from(DEFAULT_KEYWORDS), word=st.sampled_from(["please", "me", "now"]))
def test_a_sentence_holding_a_keyword_does_not_opt_out(keyword: str, word: str) -> None:
    assert not DEFAULT.match(f"{keyword} {word}")
    assert not DEFAULT.match(f"{word} {keyword}")


@given(text=st.text(max_size=30))
def test_matching_never_fails_and_agrees_with_itself(text: str) -> None:
    assert DEFAULT.match(text) is DEFAULT.match(f" {text.upper()} ")


def test_accents_and_spacing_are_read_loosely_and_keywords_are_configurable() -> None:
    assert DEFAULT.match("Arrêt") and DEFAULT.match("ARRET!") and DEFAULT.match("Désabonnement")
    assert DEFAULT.match("stop   all")
    mine = OptOutKeywords.parse("HALT, basta ,")
    assert mine.match("halt.") and mine.match("BASTA") and not mine.match("stop")


# -- the CLI: a STOP reply, then the next send ------------------------------------------------


@pytest.fixture
def run(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """The CLI with a store of this test's own (replies' ids repeat from one sandbox to the
    next: a shared store would take a new sandbox's first reply for one seen before)."""

    def command(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(*args, env={"SMSGATE_DATA_DIR": str(tmp_path)})

    return command


Run = Callable[..., "subprocess.CompletedProcess[str]"]


def _reply(sandbox: BackgroundSandbox, number: str, text: str) -> None:
    response = httpx.post(
        f"{sandbox.url}/sandbox/allmysms/replies", json={"from": number, "text": text}
    )
    assert response.status_code == 201, response.text


def _sent_to(sandbox: BackgroundSandbox) -> list[str]:
    return [str(m["to"]) for m in inbox(sandbox)]


def test_a_stop_reply_fetched_by_sync_skips_its_sender_in_later_sends(
    sandbox: BackgroundSandbox, run: Run
) -> None:
    numbers = "0612340101,0612340102"
    first = run("send", "--to", numbers, "--dsn", sandbox.dsn(), "--json", "Offer")
    assert first.returncode == 0, first.stderr
    _reply(sandbox, "33612340101", "Stop.")
    synced = json.loads(run("sync", "--dsn", sandbox.dsn(), "--json").stdout)
    assert synced["replies"] == 1
    listed = json.loads(run("optouts", "--json").stdout)["items"]
    assert {(o["number"], o["source"]) for o in listed} >= {("33612340101", "reply")}

    before = len(inbox(sandbox))
    second = run("send", "--to", numbers, "--dsn", sandbox.dsn(), "--json", "Offer 2")
    assert second.returncode == 0, second.stderr
    report = json.loads(second.stdout)
    assert report["skipped"] == [{"input": "0612340101", "reason": OPTED_OUT}]
    assert _sent_to(sandbox)[before:] == ["33612340102"]

    # A one-time code must reach the person all the same.
    code = run(
        "send", "--to", "0612340101", "--ignore-opt-out", "--dsn", sandbox.dsn(), "--json", "1234"
    )
    assert code.returncode == 0, code.stderr
    assert _sent_to(sandbox)[-1] == "33612340101"


def test_a_send_to_opted_out_numbers_only_sends_nothing_and_says_why(
    sandbox: BackgroundSandbox, run: Run
) -> None:
    added = run("optouts", "add", "+33 6 12 34 02 01", "--reason", "asked by phone")
    assert added.returncode == 0, added.stderr
    assert "33612340201 opted out" in added.stdout
    before = len(inbox(sandbox))
    done = run("send", "--to", "0612340201", "--dsn", sandbox.dsn(), "Hi")
    assert done.returncode == 2
    assert OPTED_OUT in done.stderr and "Traceback" not in done.stderr
    assert len(inbox(sandbox)) == before
    removed = run("optouts", "remove", "0612340201")
    assert removed.returncode == 0 and "may be sent to again" in removed.stdout
    again = run("optouts", "remove", "0612340201")
    assert again.returncode == 2 and "has not opted out" in again.stderr


def test_optouts_refuses_what_is_not_a_number_in_one_line(run: Run) -> None:
    done = run("optouts", "add", "not-a-number")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "not a phone number" in done.stderr
    missing = run("optouts", "add")
    assert missing.returncode == 2 and "which number" in missing.stderr


def test_the_providers_own_list_is_read_in_by_sync(sandbox: BackgroundSandbox, run: Run) -> None:
    """AllMySMS blacklists a number that answered STOP (getBlacklist): sync brings it in even
    when the reply itself was never pulled (another tool took it)."""
    assert run("send", "--to", "0612340301", "--dsn", sandbox.dsn(), "Hi").returncode == 0
    _reply(sandbox, "33612340301", "STOP")
    with Gateway.from_dsn(sandbox.dsn(), env={}) as gateway:
        gateway.replies()  # pulled elsewhere: sync will not see this reply
        (found,) = [o for o in gateway.opt_outs() if o.number == "33612340301"]
    assert found.detail == "stop"
    synced = json.loads(run("sync", "--dsn", sandbox.dsn(), "--json").stdout)
    assert synced["opt_outs"] >= 1
    listed = json.loads(run("optouts", "--json").stdout)["items"]
    assert ("33612340301", "provider") in {(o["number"], o["source"]) for o in listed}


# -- the service: a STOP reply by webhook; /v1/optouts ----------------------------------------


@pytest.fixture
def service(store: Store, sandbox: BackgroundSandbox) -> Iterator[httpx.Client]:
    gateway = Gateway.from_dsn(sandbox.dsn(), retry=FAST_RETRY, env={}, recorder=store)
    app = create_app(gateway, store, ServiceConfig((KEY,), (SECRET,)))
    with BackgroundApp(app) as server:
        settings = sandbox.state.emulator(AllMySmsEmulator).events.settings
        settings.replies_url = f"{server.url}/webhooks/allmysms/{SECRET}"
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {KEY}"}, timeout=10
        ) as client:
            yield client
    gateway.close()


def test_a_stop_reply_by_webhook_opts_out_and_the_next_send_skips_it(
    service: httpx.Client, store: Store, sandbox: BackgroundSandbox
) -> None:
    body = {"to": ["0612340401", "0612340402"], "text": "Offer"}
    assert service.post("/v1/messages", params=WAIT, json=body).status_code == 201
    _reply(sandbox, "33612340402", "arrêt")
    deadline = time.monotonic() + 10
    while "33612340402" not in store.opted_out():
        assert time.monotonic() < deadline, "the webhook's STOP did not opt the number out"
        time.sleep(0.05)
    report = service.post("/v1/messages", params=WAIT, json=body).json()
    assert report["skipped"] == [{"input": "0612340402", "reason": OPTED_OUT}]
    assert [r["to"] for r in report["recipients"]] == ["33612340401"]
    forced = service.post("/v1/messages", params=WAIT, json={**body, "ignore_opt_out": True})
    assert len(forced.json()["recipients"]) == 2


def test_optouts_are_listed_added_and_removed_over_the_api(service: httpx.Client) -> None:
    added = service.post("/v1/optouts", json={"number": "+33612340501", "detail": "by phone"})
    assert added.status_code == 201, added.text
    assert added.json()["number"] == "33612340501" and added.json()["source"] == "manual"
    assert service.post("/v1/optouts", json={"number": "0612340501"}).status_code == 200
    page = service.get("/v1/optouts").json()
    assert page["total"] == 1 and page["items"][0]["detail"] == "by phone"
    bad = service.post("/v1/optouts", json={"number": "nope"})
    assert bad.status_code == 422 and "not a phone number" in bad.json()["error"]
    assert service.delete("/v1/optouts/0612340501").status_code == 204
    gone = service.delete("/v1/optouts/0612340501")
    assert gone.status_code == 404 and "has not opted out" in gone.json()["error"]
