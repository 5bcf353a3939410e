"""Write-ahead records: every message is on record (``submitting``) before its request leaves,
so a crash, a SIGKILL or Ctrl-C at any instant leaves every SMS accounted for."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from smsgate.core.message import compose_message
from smsgate.core.report import RecipientResult, RecipientStatus
from smsgate.core.sent import Outgoing, SentBatch
from smsgate.gateway import Gateway
from smsgate.providers.allmysms import ALPHANUMERIC_NAME
from smsgate.sandbox.server import BackgroundSandbox
from smsgate.store import Store
from smsgate.store.processes import gone, this_process
from smsgate.store.recorder import ABANDONED
from smsgate.usecases.sending import recording_gateway
from tests.conftest import inbox, inject

SMSGATE = [sys.executable, "-m", "smsgate.cli"]


def statuses(store: Store) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in store.messages(limit=10_000).messages:
        counts[row.status] = counts.get(row.status, 0) + 1
    return counts


def test_the_messages_are_on_record_before_their_request_leaves(
    sandbox: BackgroundSandbox, tmp_path: Path
) -> None:
    """While AllMySMS holds the request, its messages are already in the store, submitting."""
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    inject(sandbox, method="sendSms", when="before", delay=1.5)
    seen: list[dict[str, int]] = []

    def watch() -> None:
        while not inbox(sandbox) and len(seen) < 300:
            seen.append(statuses(Store(store.url)))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    with Gateway.from_dsn(sandbox.dsn(), recorder=store, env={}) as gateway:
        watcher.start()
        report = gateway.send("0612345678, 0698765432", "Write-ahead")
    watcher.join()
    assert report.accepted == 2
    assert {"submitting": 2} in seen  # on record while the request was at the provider
    assert statuses(store) == {"sent": 2}
    message = store.messages(limit=1).messages[0]
    assert [e.status for e in store.events(message.id)] == ["sent"]


class RefusingStore:
    """A store that cannot write: the send must not go out unrecorded."""

    def record_outgoing(self, outgoing: Sequence[Outgoing]) -> None:
        raise OSError("disk full")

    def record_batch(self, sent: SentBatch) -> None:
        pass


def test_nothing_leaves_that_could_not_be_put_on_record(sandbox: BackgroundSandbox) -> None:
    with Gateway.from_dsn(sandbox.dsn(), recorder=RefusingStore(), env={}) as gateway:
        report = gateway.send("0612345678", "Never unrecorded")
    assert report.accepted == 0 and inbox(sandbox) == []
    assert "could not record the messages before sending them" in (report.recipients[0].error or "")


def cli(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSGATE_")}
    env["SMSGATE_DATA_DIR"] = str(data_dir)
    return env


def test_a_send_killed_mid_request_leaves_its_messages_unknown_never_lost(
    sandbox: BackgroundSandbox, tmp_path: Path
) -> None:
    """SIGKILL while AllMySMS has the SMS and has not answered: the next command that opens
    the store finds the messages of the dead process and makes them unknown, saying why."""
    inject(sandbox, method="sendSms", when="after", delay=30.0)
    process = subprocess.Popen(
        [*SMSGATE, "send", "--to", "0612345678", "--dsn", sandbox.dsn(), "Killed"],
        env=cli(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(600):
            if inbox(sandbox):
                break
            time.sleep(0.05)
        assert (
            Store(f"sqlite:///{tmp_path / 'smsgate.db'}", migrate=False)
            .messages(limit=5)
            .messages[0]
            .status
            == "submitting"
        )
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()
    shown = subprocess.run(
        [*SMSGATE, "messages", "--json"], env=cli(tmp_path), capture_output=True, text=True
    )
    [message] = json.loads(shown.stdout)["items"]
    assert message["status"] == "unknown" and message["error"] == ABANDONED
    assert len(inbox(sandbox)) == 1  # it did go out: unknown, never lost, never re-sent
    assert _submitters(tmp_path) == []  # looked at once: the dead process is off the list


def _submitters(tmp_path: Path) -> list[str]:
    """The processes the store lists as maybe leaving rows ``submitting``."""
    store = Store(f"sqlite:///{tmp_path / 'smsgate.db'}", migrate=False)
    with store.engine.connect() as connection:
        found = [owner for (owner,) in connection.exec_driver_sql("SELECT owner FROM submitters")]
    store.close()
    return found


def test_a_send_that_ends_leaves_no_submitter_behind(
    sandbox: BackgroundSandbox, tmp_path: Path
) -> None:
    """A process is listed from its first write-ahead until it closes its store, so the next
    store to open looks at no message for leftovers (the status has no index to look with)."""
    done = subprocess.run(
        [*SMSGATE, "send", "--to", "0612345678", "--dsn", sandbox.dsn(), "Done"],
        env=cli(tmp_path),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert _submitters(tmp_path) == []
    url = f"sqlite:///{tmp_path / 'smsgate.db'}"
    first, second = Store(url), Store(url)
    for store in (first, second):
        with recording_gateway(sandbox.dsn(), store) as gateway:
            assert gateway.send("+33612345678", "Again").accepted == 1
    assert _submitters(tmp_path) == [this_process()]  # listed while its stores are open
    first.close()
    assert _submitters(tmp_path) == [this_process()]  # the other may still be sending
    second.close()
    assert _submitters(tmp_path) == []


def test_ctrl_c_stops_after_the_request_in_flight_and_records_everything(
    sandbox: BackgroundSandbox, tmp_path: Path
) -> None:
    """SIGINT while the first of three requests is at AllMySMS: that request finishes and is
    recorded, the other two never leave and are recorded as not sent; exit 130 with the
    report so far."""
    inject(sandbox, method="sendSms", when="after", delay=2.0)
    numbers = "0612345601, 0612345602, 0612345603, 0612345604, 0612345605"
    process = subprocess.Popen(
        [
            *SMSGATE,
            "send",
            "--to",
            numbers,
            "--dsn",
            sandbox.dsn() + "?batch_size=2",
            "--json",
            "Hi",
        ],
        env=cli(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    for _ in range(600):
        if inbox(sandbox):
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "stopping after the request in flight" in err
    report = json.loads(out)
    assert [r["status"] for r in report["recipients"]] == ["sent"] * 2 + ["failed"] * 3
    assert "interrupted (Ctrl-C)" in report["recipients"][4]["error"]
    assert len(inbox(sandbox)) == 2
    store = Store(f"sqlite:///{tmp_path / 'smsgate.db'}")
    assert statuses(store) == {"sent": 2, "failed": 3}


@pytest.mark.parametrize("owner", ["elsewhere:1:1", f"{socket.gethostname()}:999999999:1"])
def test_only_a_process_known_to_be_gone_has_its_messages_settled(owner: str) -> None:
    """Another host's process cannot be judged from here; a pid that runs no more can; this
    process, and one whose pid was reused since (another start time), are told apart."""
    assert gone(owner) is owner.endswith(":999999999:1")
    assert not gone(this_process())
    host, pid, started = this_process().split(":")
    assert gone(f"{host}:{pid}:{started}0")


def _ahead(ids: list[str], provider: str = "allmysms") -> Outgoing:
    message = compose_message("Hello", sender_rule=ALPHANUMERIC_NAME)
    numbers = [f"3361234560{n}" for n in range(len(ids))]
    return Outgoing(provider, False, message, f"req_{ids[0]}", ids, numbers)


def _answered(batch: Outgoing) -> SentBatch:
    results = [
        RecipientResult(to, RecipientStatus.SENT, f"p_{i}", None, i, batch.provider)
        for i, to in zip(batch.ids, batch.recipients, strict=True)
    ]
    return SentBatch(
        batch.provider, False, batch.message, batch.reference, results, "c_1", 30, announced=True
    )


def _count(store: Store, table: str) -> int:
    with store.engine.connect() as connection:
        found = connection.exec_driver_sql(f"SELECT count(*) FROM {table}")  # noqa: S608
        return int(found.scalar_one())


def test_a_batch_in_its_request_is_one_row_and_is_listed_as_its_messages(store: Store) -> None:
    """Before it leaves, a batch is one write-ahead row (``submissions``); the store lists
    and finds its messages as ``submitting``; its answer writes each message once."""
    earlier = _ahead(["msg_a0"])
    store.record_outgoing([earlier])
    store.record_batch(_answered(earlier))
    batch = _ahead(["msg_a1", "msg_a2"])
    store.record_outgoing([batch])
    assert (_count(store, "submissions"), _count(store, "messages")) == (1, 1)
    page = store.messages()
    assert [(m.id, m.status) for m in page.messages] == [
        ("msg_a2", "submitting"),
        ("msg_a1", "submitting"),
        ("msg_a0", "sent"),
    ]
    assert page.total == 3
    assert [m.id for m in store.messages(status="sent").messages] == ["msg_a0"]
    assert [m.id for m in store.messages(recipient="+33612345601").messages] == ["msg_a2"]
    assert [m.id for m in store.messages(limit=1, offset=1).messages] == ["msg_a1"]
    assert [m.id for m in store.messages(limit=2, offset=1).messages] == ["msg_a1", "msg_a0"]
    found = store.message("msg_a1")
    assert found is not None and found.status == "submitting" and found.provider == "allmysms"
    written = found.created_at

    store.record_batch(_answered(batch))
    assert (_count(store, "submissions"), _count(store, "messages")) == (0, 3)
    row = store.message("msg_a1")
    assert row is not None and (row.status, row.provider_message_id) == ("sent", "p_msg_a1")
    assert row.created_at == written  # on record since its write-ahead
    assert [e.status for e in store.events("msg_a1")] == ["sent"]


def test_a_dead_senders_batch_becomes_its_messages_unknown(store: Store) -> None:
    """SIGKILL between the write-ahead and the answer, at the store's level: the next store
    to open writes the batch's messages as ``unknown``, saying why, with an event each."""
    sender = Store(store.url, migrate=False)
    sender.owner = f"{socket.gethostname()}:999999999:1"  # a process that runs no more
    sender.record_outgoing([_ahead(["msg_d1", "msg_d2"])])
    opened = Store(store.url)  # settles what the dead left
    try:
        assert _count(store, "submissions") == 0
        for message_id in ("msg_d1", "msg_d2"):
            row = opened.message(message_id)
            assert row is not None and (row.status, row.error) == ("unknown", ABANDONED)
            assert [(e.source, e.status) for e in opened.events(message_id)] == [
                ("recovery", "unknown")
            ]
    finally:
        opened.close()
        sender.close()


def test_a_reroute_writes_the_batches_still_ahead_as_rows_first(store: Store) -> None:
    """Over a route, a batch not yet sent may go to the next provider: the batches this
    process has ahead become rows first, so the reroute finds its messages to rename."""
    first, second = _ahead(["msg_r1"]), _ahead(["msg_r2"])
    store.record_outgoing([first, second])
    moved = replace(second, provider="smsworks", rerouted=True, tried=("allmysms",))
    store.record_outgoing([moved])
    assert _count(store, "submissions") == 0
    assert [(m.id, m.provider, m.status) for m in store.messages().messages] == [
        ("msg_r2", "smsworks", "submitting"),
        ("msg_r1", "allmysms", "submitting"),
    ]
    store.record_batch(_answered(first))
    store.record_batch(_answered(moved))
    assert [(m.id, m.provider, m.status) for m in store.messages().messages] == [
        ("msg_r2", "smsworks", "sent"),
        ("msg_r1", "allmysms", "sent"),
    ]
    assert [e.status for e in store.events("msg_r2")] == ["sent"]
