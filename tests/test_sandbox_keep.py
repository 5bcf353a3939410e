"""The sandbox's state that lasts (issue 14, item 4): ``smsgate sandbox`` stopped and started
again keeps its inbox, accounts, campaigns and receipts in SQLite; ``--ephemeral`` keeps nothing.
(The embedded ``sandbox://`` across CLI runs: tests/test_cli.py.)"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import httpx

from smsgate.gateway import Gateway
from smsgate.sandbox.allmysms.emulator import AllMySmsEmulator
from smsgate.sandbox.inbox import Inbox, InboxMessage, InboxQuery
from smsgate.sandbox.keep import SqliteKeep
from smsgate.sandbox.messangi.emulator import MessangiEmulator
from smsgate.sandbox.server import BackgroundSandbox, SandboxProcess, free_port
from smsgate.sandbox.state import SandboxState
from tests.conftest import ALL

LATER = datetime.now().astimezone() + timedelta(days=3)


def _message(n: int) -> InboxMessage:
    return InboxMessage(
        f"m{n}",
        "allmysms",
        "demo",
        "c",
        f"3361234{n:04d}",
        "hi",
        None,
        "36180",
        "GSM-7",
        1,
        15,
        "sent",
    )


def _kept(path: Path, kind: str) -> list[str]:
    with sqlite3.connect(path) as db:
        return [key for (key,) in db.execute("SELECT key FROM records WHERE kind = ?", (kind,))]


def test_the_inbox_keeps_its_newest_messages_and_forgets_the_dropped(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.db"
    keep = SqliteKeep(path)
    inbox = Inbox(capacity=3, keep=keep)
    inbox.add([_message(n) for n in range(5)])
    inbox.update(inbox.get("m4") or _message(0), status="delivered")
    keep.close()
    assert sorted(_kept(path, "message")) == ["m2", "m3", "m4"]

    again = Inbox(capacity=3, keep=SqliteKeep(path))
    again.restore()
    found, total = again.find(InboxQuery())
    assert total == 3 and [m.id for m in found] == ["m2", "m3", "m4"]
    assert found[-1].status == "delivered" and found[-1].history[-1]["status"] == "delivered"
    again.add([_message(9)])  # numbering goes on after the kept messages
    assert (again.get("m9") or _message(0)).sequence > found[-1].sequence


def test_the_emulators_let_go_of_what_the_inbox_dropped(tmp_path: Path) -> None:
    """Beyond its capacity the inbox drops its oldest SMS, and each emulator its records of
    them (kept and in memory), so a sandbox that runs for weeks holds no more than its inbox."""
    path = tmp_path / "sandbox.db"
    state = SandboxState(SqliteKeep(path))
    state.inbox.capacity = 3
    with BackgroundSandbox(state) as sandbox:
        with Gateway.from_dsn(sandbox.dsn(), env={}) as gateway:
            first = gateway.send(["+33612340001", "+33612340002"], "Old")
        with Gateway.from_dsn(sandbox.messangi_dsn(), env={}) as gateway:
            numbers = ["+33612340003", "+33612340004", "+33612340005", "+33612340006"]
            assert gateway.send(numbers, "New", sender="ACME").accepted == 4
        assert state.emulator(AllMySmsEmulator).events.campaigns == {}
        assert len(state.emulator(MessangiEmulator).events.messages) == 3
        with Gateway.from_dsn(sandbox.dsn(), env={}) as gateway:
            assert gateway.receipts(first.requests[0].campaign_id or "") == []
    assert _kept(path, "allmysms.campaign") == []
    assert len(_kept(path, "messangi.message")) == len(_kept(path, "message")) == 3


def _messages(sandbox: SandboxProcess) -> dict[str, dict[str, object]]:
    found = httpx.get(f"{sandbox.url}/sandbox/messages", params=ALL).json()["messages"]
    return {str(m["to"]): m for m in found}


def _credits(sandbox: SandboxProcess, provider: str, account: str) -> object:
    listed = httpx.get(f"{sandbox.url}/sandbox/accounts").json()["accounts"]
    return next(
        a["credits"] for a in listed if a["provider"] == provider and a["account"] == account
    )


def test_a_restarted_sandbox_keeps_its_inbox_accounts_campaigns_and_receipts(
    tmp_path: Path,
) -> None:
    state = str(tmp_path / "sandbox.db")
    accounts = ["keeper:keeper-key:1000"]
    with SandboxProcess(accounts=accounts, state=state) as sandbox:
        allmysms = sandbox.dsn("keeper", "keeper-key")
        with Gateway.from_dsn(allmysms, env={}) as gateway:
            held = gateway.send("+33612340001", "Later", scheduled_at=LATER)
            now = gateway.send("+33612340002", "Now")
        with Gateway.from_dsn(sandbox.messangi_dsn(), env={}) as gateway:
            assert gateway.send("+33612340003", "Messangi", sender="ACME").accepted == 1
        smsworks, first_port = sandbox.smsworks_dsn(), sandbox.port
        with Gateway.from_dsn(smsworks, env={}) as gateway:
            assert gateway.send("+447700900004", "Works", sender="ACME").accepted == 1
        spent = _credits(sandbox, "allmysms", "keeper")
        # stopped at once: the receipts (1 s after each send) fall due while it is down

    with SandboxProcess(accounts=accounts, state=state) as sandbox:
        for number in ("33612340002", "33612340003", "447700900004"):
            arrived = httpx.get(
                f"{sandbox.url}/sandbox/messages/wait",
                params={"to": number, "status": "delivered", "timeout": "10"},
                timeout=15,
            )
            assert arrived.status_code == 200, (number, arrived.text)
        kept = _messages(sandbox)
        assert kept["33612340001"]["status"] == "scheduled"
        assert _credits(sandbox, "allmysms", "keeper") == spent  # given as before: kept
        with Gateway.from_dsn(sandbox.dsn("keeper", "keeper-key"), env={}) as gateway:
            held_campaign = held.requests[0].campaign_id
            assert held_campaign is not None
            gateway.cancel(held_campaign)  # the held send, made before the restart
            receipts = gateway.receipts(now.requests[0].campaign_id or "")
        assert receipts[-1].status.value == "delivered"
        assert _messages(sandbox)["33612340001"]["status"] == "cancelled"
        assert _credits(sandbox, "allmysms", "keeper") == 1000 - 15  # the held one refunded
        issued_before = smsworks.replace(f":{first_port}", f":{sandbox.port}")
        with Gateway.from_dsn(issued_before, env={}) as gateway:  # its token still works
            assert gateway.send("+447700900005", "Again", sender="ACME").accepted == 1

    changed = ["keeper:keeper-key:500"]
    with SandboxProcess(accounts=changed, state=state) as sandbox:
        assert _credits(sandbox, "allmysms", "keeper") == 500  # given otherwise: afresh
        assert len(_messages(sandbox)) == 5


def _sandbox_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "smsgate.cli", "sandbox", "--port", str(free_port()), *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_two_sandboxes_never_share_one_state_file(tmp_path: Path) -> None:
    state = str(tmp_path / "sandbox.db")
    with SandboxProcess(state=state):
        second = _sandbox_command("--state", state)
    assert second.returncode == 2
    assert "another smsgate sandbox keeps its state in" in second.stderr
    assert "--ephemeral" in second.stderr and "Traceback" not in second.stderr
    both = _sandbox_command("--ephemeral", "--state", state)
    assert both.returncode == 2 and "--ephemeral keeps nothing" in both.stderr


def test_ephemeral_keeps_nothing_and_reset_starts_afresh(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.db"
    with SandboxProcess() as sandbox, Gateway.from_dsn(sandbox.dsn(), env={}) as gateway:
        gateway.send("+33612340001", "Gone")  # --ephemeral
    assert not state.exists()
    with (
        SandboxProcess(state=str(state)) as sandbox,
        Gateway.from_dsn(sandbox.dsn(), env={}) as gateway,
    ):
        gateway.send("+33612340001", "Kept")
    assert _kept(state, "message")
    with SandboxProcess(state=str(state), reset=True) as sandbox:
        assert _messages(sandbox) == {}
        assert _credits(sandbox, "allmysms", "demo") == 15000
