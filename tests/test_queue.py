"""The durable send queue, with real parts: PostgreSQL, the service and the workers as
processes of their own (``smsgate serve``, ``smsgate worker``), and the sandbox in its own
process. Every recipient is counted in the sandbox's inbox: sent once, never twice."""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smsgate.core.ids import new_ids
from smsgate.core.message import compose_message
from smsgate.core.sent import Outgoing
from smsgate.providers.allmysms import ALPHANUMERIC_NAME
from smsgate.queue.accept import accept_send
from smsgate.queue.job import Runner
from smsgate.sandbox.server import SandboxProcess, free_port
from smsgate.store import Store
from smsgate.store.optouts import OptOuts
from smsgate.store.recorder import ABANDONED
from smsgate.store.sends import OPTED_OUT_SINCE, NewSend, Sends
from smsgate.usecases.sending import recording_gateway
from tests.conftest import ALL, POSTGRES_ADMIN_URL

API_KEY = "queue-test-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
RICH = "rich:rich-key:100000000"  # an AllMySMS account with credit for any campaign here


@pytest.fixture
def database() -> Iterator[str]:
    """A database of this test's own: its workers see only its jobs."""
    name = f"smsgate_queue_{os.getpid()}_{secrets.token_hex(3)}"
    admin = sqlalchemy.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as connection:
        connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


@pytest.fixture
def sandbox() -> Iterator[SandboxProcess]:
    with SandboxProcess(accounts=[RICH]) as process:
        yield process


def _env(database: str, dsn: str, callback_secret: str | None = None) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SMSGATE_")}
    return {
        **clean,
        "SMSGATE_DATABASE_URL": database,
        "SMSGATE_API_KEYS": API_KEY,
        "SMSGATE_DSN": dsn,
        **({"SMSGATE_CALLBACK_SECRET": callback_secret} if callback_secret else {}),
    }


class Service:
    """``smsgate serve`` on a free port."""

    def __init__(self, env: dict[str, str], *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "smsgate.cli", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen([*command, *extra], env=env)
        _until(lambda: _answers(self.url), "the service to start")

    def post(self, body: dict[str, Any], key: str | None = None, **params: str) -> httpx.Response:
        headers = {**AUTH, **({"Idempotency-Key": key} if key else {})}
        return httpx.post(
            f"{self.url}/v1/messages", json=body, headers=headers, params=params, timeout=60
        )

    def get(self, path: str) -> Any:
        response = httpx.get(f"{self.url}{path}", headers=AUTH, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
        self.process.wait(timeout=30)


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@contextmanager
def _running(
    database: str, dsn: str, workers: int = 1, callback_secret: str | None = None
) -> Iterator[tuple[Service, list[subprocess.Popen[bytes]]]]:
    """The service and ``workers`` workers on this test's database, ready; killed after."""
    env = _env(database, dsn, callback_secret)
    service = Service(env)
    started = [_worker(env) for _ in range(workers)]
    try:
        _until(_workers_ready(database, workers), f"{workers} worker(s)")
        yield service, started
    finally:
        for worker in started:
            worker.kill()
        service.stop()


def _worker(env: dict[str, str], concurrency: int = 1) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "smsgate.cli", "worker", "--concurrency", str(concurrency)]
    return subprocess.Popen(command, env=env)


def _until(check: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _rows(database: str, query: str) -> list[Any]:
    engine = sqlalchemy.create_engine(database)
    try:
        with engine.connect() as connection:
            return list(connection.exec_driver_sql(query).all())
    finally:
        engine.dispose()


def _workers_ready(database: str, count: int) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            found = _rows(database, "SELECT count(*) FROM procrastinate_workers")
        except sqlalchemy.exc.ProgrammingError:
            return False
        return int(found[0][0]) >= count

    return ready


def _statuses(database: str, send_id: str) -> Counter[str]:
    found = _rows(
        database,
        f"SELECT status, count(*) FROM messages WHERE send_id = '{send_id}' GROUP BY status",  # noqa: S608
    )
    return Counter({status: int(count) for status, count in found})


def _settled(database: str, send_id: str) -> Callable[[], bool]:
    def done() -> bool:
        statuses = _statuses(database, send_id)
        return sum(statuses.values()) > 0 and not (statuses["queued"] or statuses["submitting"])

    return done


def _inbox(sandbox: SandboxProcess) -> Counter[str]:
    messages = httpx.get(f"{sandbox.url}/sandbox/messages", params=ALL, timeout=30).json()[
        "messages"
    ]
    return Counter(str(m["to"]).lstrip("+") for m in messages)


def _inject(sandbox: SandboxProcess, **fault: object) -> None:
    assert httpx.post(f"{sandbox.url}/sandbox/faults", json=fault).status_code == 204


def _numbers(count: int, first: int = 0) -> list[str]:
    return [f"336{first + i:08d}" for i in range(count)]


def _stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return process.wait(timeout=60)


def test_a_send_is_answered_202_at_once_and_sent_once_by_two_workers(
    database: str, sandbox: SandboxProcess
) -> None:
    with _running(database, sandbox.dsn("rich", "rich-key"), workers=2) as (service, workers):
        # The sandbox answers each request after 1 s: both workers have work to share.
        _inject(sandbox, method="sendSms", when="before", delay=1.0, times=100)
        numbers = _numbers(3000)
        response = service.post({"to": [*numbers, "not-a-number"], "text": "Hi", "sender": "Acme"})
        assert response.status_code == 202, response.text
        answer = response.json()
        assert answer["status"] == "queued"
        assert answer["accepted"] == 3000
        assert answer["skipped"][0]["input"] == "not-a-number"
        assert len(answer["messages"]) == 1000  # the rest are paged
        assert answer["messages_total"] == 3000
        assert {m["status"] for m in answer["messages"]} == {"queued"}
        send_id = answer["send_id"]

        _until(_settled(database, send_id), "the send to be sent")
        progress = service.get(f"/v1/sends/{send_id}")
        assert progress["status"] == "done"
        assert progress["counts"] == {"sent": 3000}
        assert _inbox(sandbox) == Counter(numbers)  # each recipient exactly once
        owners = _rows(
            database,
            f"SELECT count(DISTINCT submitted_by) FROM messages WHERE send_id = '{send_id}'",  # noqa: S608
        )
        assert owners[0][0] == 2, "both workers sent part of it"
        page = service.get(f"/v1/sends/{send_id}/messages?limit=1000&offset=2500")
        assert page["total"] == 3000
        assert len(page["items"]) == 500
        assert {m["status"] for m in page["items"]} == {"sent"}
        for worker in workers:
            assert _stop(worker) == 0  # SIGTERM: the jobs in hand finish, exit 0


def test_a_worker_killed_mid_campaign_its_jobs_are_recovered_by_another(
    database: str, sandbox: SandboxProcess
) -> None:
    env = _env(database, sandbox.dsn("rich", "rich-key"))
    service = Service(env)
    doomed = _worker(env, concurrency=2)
    rescuer: subprocess.Popen[bytes] | None = None
    try:
        _until(_workers_ready(database, 1), "the first worker")
        _inject(sandbox, method="sendSms", when="before", delay=1.0, times=100)
        numbers = _numbers(5000)
        response = service.post({"to": numbers, "text": "Hi", "sender": "Acme"})
        assert response.status_code == 202, response.text
        send_id = response.json()["send_id"]
        # Mid-campaign: some requests answered, others in flight at the sandbox.
        _until(lambda: _statuses(database, send_id)["sent"] >= 1000, "a part of it to be sent")
        # Then the next requests are at the sandbox (each held there 1 s). Killed sooner, a
        # job could die between taking its rows and its request leaving: those rows become
        # unknown too (over-careful), and the sandbox would not have them.
        time.sleep(0.4)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        killed = time.monotonic()
        rescuer = _worker(env)
        _until(_settled(database, send_id), "another worker to finish it", timeout=120)
        recovered_in = time.monotonic() - killed

        statuses = _statuses(database, send_id)
        inbox = _inbox(sandbox)
        assert max(inbox.values()) == 1, "a recipient got the SMS twice"
        # What the dead worker had taken is unknown, never re-sent: its requests in flight
        # (the sandbox has them) and any rows it had taken whose request had not left yet
        # (over-careful: the sandbox lacks those). Everything else the other worker sent.
        assert statuses["unknown"] > 0
        assert statuses["sent"] + statuses["unknown"] == 5000
        sent = _rows(
            database,
            f"SELECT recipient FROM messages WHERE send_id = '{send_id}' AND status = 'sent'",  # noqa: S608
        )
        assert {row[0] for row in sent} <= set(inbox), "every sent SMS reached the provider"
        assert set(inbox) <= set(numbers)
        unknown = _rows(
            database,
            f"SELECT DISTINCT error FROM messages WHERE send_id = '{send_id}' "  # noqa: S608
            "AND status = 'unknown'",
        )
        assert [row[0] for row in unknown] == [ABANDONED]
        assert recovered_in < 60
    finally:
        doomed.kill()
        if rescuer is not None:
            rescuer.kill()
        service.stop()


def _post_without_reading(url: str, body: dict[str, Any], key: str) -> socket.socket:
    """Send a POST and never read its answer: as if the answer were lost on the way."""
    payload = json.dumps(body).encode()
    port = int(url.rsplit(":", 1)[1])
    connection = socket.create_connection(("127.0.0.1", port))
    head = (
        f"POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {API_KEY}\r\n"
        f"Idempotency-Key: {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\n\r\n"
    )
    connection.sendall(head.encode() + payload)
    return connection


def test_the_service_killed_after_commit_a_retry_with_the_same_key_queues_nothing_new(
    database: str, sandbox: SandboxProcess
) -> None:
    env = _env(database, sandbox.dsn("rich", "rich-key"))
    service = Service(env)
    body = {"to": _numbers(20), "text": "Once", "sender": "Acme"}
    lost = _post_without_reading(service.url, body, "order-1234")
    try:
        _until(lambda: _rows(database, "SELECT count(*) FROM sends")[0][0] == 1, "the commit")
        service.process.send_signal(signal.SIGKILL)  # the answer never reaches the client
        service.process.wait()
    finally:
        lost.close()
    (first,) = _rows(database, "SELECT id FROM sends")

    again = Service(env)
    worker = _worker(env)
    try:
        retry = again.post(body, key="order-1234")
        assert retry.status_code == 202, retry.text
        assert retry.json()["send_id"] == first[0]  # the first answer, kept with the commit
        other = again.post({**body, "text": "Twice"}, key="order-1234")
        assert other.status_code == 409
        assert "used for another request" in other.json()["error"]
        _until(_settled(database, first[0]), "the send to be sent")
        assert _rows(database, "SELECT count(*) FROM sends")[0][0] == 1
        assert _inbox(sandbox) == Counter(body["to"])
    finally:
        worker.kill()
        again.stop()


def test_three_workers_share_one_budget_and_the_provider_never_counts_more(
    database: str, sandbox: SandboxProcess
) -> None:
    with _running(database, sandbox.messangi_dsn(rate="20/2s"), workers=3) as (service, _):
        sends = []
        for first in (0, 1000, 2000):  # one job each: three sends at once
            response = service.post(
                {"to": _numbers(30, first), "text": "Budget", "sender": "12345"}
            )
            assert response.status_code == 202, response.text
            sends.append(response.json()["send_id"])
        for send_id in sends:
            _until(_settled(database, send_id), "the sends", timeout=120)
        messages = httpx.get(f"{sandbox.url}/sandbox/messages", params=ALL, timeout=30).json()[
            "messages"
        ]
        times = sorted(datetime.fromisoformat(str(m["received_at"])).timestamp() for m in messages)
        assert len(times) == 90
        busiest = max(sum(1 for t in times if start <= t < start + 2.0) for start in times)
        assert busiest <= 20, f"{busiest} calls in one 2-s window for a budget of 20"
        owners = _rows(database, "SELECT count(DISTINCT submitted_by) FROM messages")
        assert owners[0][0] == 3


def test_a_scheduled_messangi_send_is_held_by_the_gateway_sent_at_its_time_or_cancelled(
    database: str, sandbox: SandboxProcess
) -> None:
    with _running(database, sandbox.messangi_dsn()) as (service, _):
        soon = datetime.now(UTC) + timedelta(seconds=4)
        kept = service.post(
            {
                "to": _numbers(3),
                "text": "Later",
                "sender": "12345",
                "scheduled_at": soon.isoformat(),
            }
        ).json()
        dropped = service.post(
            {
                "to": _numbers(3, 100),
                "text": "Never",
                "sender": "12345",
                "scheduled_at": soon.isoformat(),
            }
        ).json()
        assert kept["held"] is True
        assert kept["status"] == "queued"
        message = service.get(f"/v1/messages/{dropped['messages'][0]['id']}")
        assert message["status"] == "queued"
        assert message["scheduled_at"] is not None
        cancel = httpx.post(
            f"{service.url}/v1/messages/{dropped['messages'][0]['id']}/cancel", headers=AUTH
        )
        assert cancel.status_code == 200, cancel.text
        assert cancel.json()["status"] == "cancelled"
        assert _inbox(sandbox) == Counter()  # held: nothing before its time
        _until(_settled(database, kept["send_id"]), "the held send at its time", timeout=60)
        sent_at = min(
            datetime.fromisoformat(str(m["received_at"]))
            for m in httpx.get(f"{sandbox.url}/sandbox/messages", params=ALL).json()["messages"]
        )
        assert sent_at >= soon - timedelta(seconds=0.5)
        assert _inbox(sandbox) == Counter(_numbers(3))  # the cancelled send never went
        assert service.get(f"/v1/sends/{dropped['send_id']}")["status"] == "cancelled"
        late = service.post(
            {
                "to": _numbers(1),
                "text": "x",
                "sender": "12345",
                "scheduled_at": "2020-01-01T00:00:00Z",
            }
        )
        assert late.status_code == 422
        assert "in the past" in late.json()["error"]


def test_a_busy_provider_delays_the_job_and_nothing_is_sent_twice(
    database: str, sandbox: SandboxProcess
) -> None:
    with _running(database, sandbox.dsn("rich", "rich-key")) as (service, _):
        # Busy for longer than the transport waits: the job goes back to the queue for 2 s.
        _inject(sandbox, method="sendSms", when="before", status=429, retry_after="2", times=4)
        numbers = _numbers(10)
        answer = service.post({"to": numbers, "text": "Busy", "sender": "Acme"}).json()
        _until(_settled(database, answer["send_id"]), "the send after the wait", timeout=60)
        assert _statuses(database, answer["send_id"]) == Counter({"sent": 10})
        assert _inbox(sandbox) == Counter(numbers)


def test_wait_true_sends_during_the_request_up_to_a_bound(
    database: str, sandbox: SandboxProcess
) -> None:
    env = _env(database, sandbox.dsn("rich", "rich-key"))
    service = Service(env)
    try:
        report = service.post({"to": _numbers(2), "text": "Now", "sender": "Acme"}, wait="true")
        assert report.status_code == 201, report.text
        assert report.json()["status"] == "sent"
        big = service.post({"to": _numbers(1001), "text": "Now", "sender": "Acme"}, wait="true")
        assert big.status_code == 422
        assert "leave it out to queue" in big.json()["error"]
    finally:
        service.stop()


def test_serve_with_workers_sends_what_it_queues_on_one_machine(
    database: str, sandbox: SandboxProcess
) -> None:
    env = _env(database, sandbox.dsn("rich", "rich-key"))
    service = Service(env, "--workers", "2")
    try:
        answer = service.post({"to": _numbers(700), "text": "Hi", "sender": "Acme"})
        assert answer.status_code == 202, answer.text
        _until(_settled(database, answer.json()["send_id"]), "the worker beside the service")
        assert _inbox(sandbox) == Counter(_numbers(700))
    finally:
        service.stop()
    assert _workers_ready(database, 1)() is False, "the worker stopped with the service"
    killed = Service(env, "--workers", "1")
    _until(_workers_ready(database, 1), "the worker beside the service")
    pid = killed.process.pid
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    assert len(children) == 1
    killed.process.send_signal(signal.SIGKILL)
    killed.process.wait()
    _until(lambda: _ended(int(children[0])), "the worker to stop with its service")


def _ended(pid: int) -> bool:
    """Gone, or a zombie its new parent has not reaped yet."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_the_worker_needs_postgresql_and_says_so(tmp_path: Any) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("SMSGATE_")},
        "SMSGATE_DATABASE_URL": f"sqlite:///{tmp_path}/store.db",
    }
    done = subprocess.run(
        [sys.executable, "-m", "smsgate.cli", "worker"], env=env, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert "the queue needs the message store on PostgreSQL" in done.stderr
    assert "Traceback" not in done.stderr


_STORES: dict[str, Store] = {}


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    texts=st.lists(
        st.text(
            st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00"), min_size=1
        ),
        min_size=1,
        max_size=5,
    )
)
def test_queued_rows_keep_every_text_exactly(postgres_url: str, texts: list[str]) -> None:
    """Personalised texts with tabs, backslashes, newlines and any Unicode go into the store
    by COPY (written by hand, see store/sends.py) and come back as they were."""
    store = _STORES.get(postgres_url) or _STORES.setdefault(postgres_url, Store(postgres_url))
    message = compose_message("Hi {name}", sender="ACME", sender_rule=ALPHANUMERIC_NAME)
    ids = new_ids("msg", len(texts))
    send_id = new_ids("snd", 1)[0]
    batch = Outgoing(
        provider="allmysms",
        sandbox=False,
        message=message,
        reference="req_1",
        ids=ids,
        recipients=[f"3361234{i:04d}" for i in range(len(texts))],
        texts=texts,
        params=[(t,) for t in texts],
        send_id=send_id,
        chunk=0,
    )
    new = NewSend(send_id, "allmysms", None, False, {}, {}, len(texts), 1, None, [batch])
    Sends(store).accept(new, lambda connection: None, {})
    taken = Sends(store).take(send_id, 0, "test")
    assert {t.id: (t.text, t.params) for t in taken} == {
        i: (t, (t,)) for i, t in zip(ids, texts, strict=True)
    }


def test_a_job_run_twice_sends_nothing_the_second_time(
    database: str, sandbox: SandboxProcess
) -> None:
    """Redelivery, a recovered job, a retry: the rows say what was sent, and only rows still
    queued are taken."""
    store = Store(database)
    gateway = recording_gateway(sandbox.dsn("rich", "rich-key"), store)
    answer = accept_send(gateway, Sends(store), _numbers(3), "Once", sender="Acme")
    runner = Runner(store, gateway)
    first = runner.run(answer["send_id"], 0)
    again = runner.run(answer["send_id"], 0)
    assert (first.sent, again.sent) == (3, 0)
    assert _inbox(sandbox) == Counter(_numbers(3))
    assert _statuses(database, answer["send_id"]) == Counter({"sent": 3})
    gateway.close()
    store.close()


def test_a_job_given_up_after_its_last_attempt_leaves_no_row_waiting(
    database: str, sandbox: SandboxProcess
) -> None:
    """No job will take its rows any more: those still queued fail, the one its attempt had
    in flight becomes unknown, each saying why; nothing is sent."""
    store = Store(database)
    gateway = recording_gateway(sandbox.dsn("rich", "rich-key"), store)
    answer = accept_send(gateway, Sends(store), _numbers(3), "Hi", sender="Acme")
    send_id = answer["send_id"]
    taken = Sends(store).take(send_id, 0, "test")
    with store.engine.begin() as connection:  # two of them not taken yet
        connection.execute(
            sqlalchemy.text("UPDATE messages SET status = 'queued' WHERE id IN (:a, :b)"),
            {"a": taken[0].id, "b": taken[1].id},
        )
    error = RuntimeError("the store went away\n(background on this error: ...)")
    Runner(store, gateway).give_up(send_id, 0, error, 9)
    assert _statuses(database, send_id) == Counter({"failed": 2, "unknown": 1})
    query = f"SELECT status, error FROM messages WHERE send_id = '{send_id}'"  # noqa: S608
    reasons = {row[0]: row[1] for row in _rows(database, query)}
    said = "the job failed 9 times, the last with RuntimeError: the store went away"
    assert reasons["failed"] == f"not sent: {said}"
    assert (
        reasons["unknown"].startswith(said)
        and "may have reached the provider" in reasons["unknown"]
    )
    assert _inbox(sandbox) == Counter()
    gateway.close()
    store.close()


def test_a_number_that_opts_out_while_its_send_waits_is_not_sent(
    database: str, sandbox: SandboxProcess
) -> None:
    """A STOP reply counts from when it comes: a queued row of that number is cancelled when
    its job runs, saying why; a send told to ignore opt-outs still sends it."""
    store = Store(database)
    gateway = recording_gateway(sandbox.dsn("rich", "rich-key"), store)
    numbers = _numbers(3)
    waits = accept_send(gateway, Sends(store), numbers, "Hi", sender="Acme", opted_out=set())
    code = accept_send(gateway, Sends(store), numbers[1:2], "1234", sender="Acme")
    OptOuts(store).add(numbers[1], "reply", "allmysms", "STOP")
    runner = Runner(store, gateway)
    assert runner.run(waits["send_id"], 0).sent == 2
    assert runner.run(code["send_id"], 0).sent == 1
    assert _statuses(database, waits["send_id"]) == Counter({"sent": 2, "cancelled": 1})
    query = (
        f"SELECT error FROM messages WHERE status = 'cancelled' AND send_id = '{waits['send_id']}'"  # noqa: S608
    )
    assert [row[0] for row in _rows(database, query)] == [OPTED_OUT_SINCE]
    assert _inbox(sandbox) == Counter([numbers[0], numbers[1], numbers[2]])
    gateway.close()
    store.close()


def test_a_worker_for_another_account_fails_the_rows_saying_why(
    database: str, sandbox: SandboxProcess
) -> None:
    store = Store(database)
    service_side = recording_gateway(sandbox.dsn("rich", "rich-key"), store)
    answer = accept_send(service_side, Sends(store), _numbers(2), "Hi", sender="Acme")
    other = recording_gateway(sandbox.dsn(), store)  # the demo account
    assert Runner(store, other).run(answer["send_id"], 0).sent == 0
    rows = _rows(
        database,
        f"SELECT status, error FROM messages WHERE send_id = '{answer['send_id']}'",  # noqa: S608
    )
    assert {status for status, _ in rows} == {"failed"}
    assert "start workers with the DSN the service uses" in rows[0][1]
    assert _inbox(sandbox) == Counter()
    for gateway in (service_side, other):
        gateway.close()
    store.close()


def test_smsgate_cancel_cancels_a_held_message_with_its_send(
    database: str, sandbox: SandboxProcess
) -> None:
    store = Store(database)
    gateway = recording_gateway(sandbox.messangi_dsn(), store)
    later = datetime.now(UTC) + timedelta(hours=1)
    answer = accept_send(
        gateway, Sends(store), _numbers(2), "Later", sender="12345", scheduled_at=later
    )
    assert answer["held"] is True
    env = _env(database, sandbox.messangi_dsn())
    done = subprocess.run(
        [sys.executable, "-m", "smsgate.cli", "cancel", answer["messages"][0]["id"]],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "cancelled 2 message(s)" in done.stdout
    assert _statuses(database, answer["send_id"]) == Counter({"cancelled": 2})
    gateway.close()
    store.close()


def test_a_queued_send_over_a_route_fails_over_in_its_worker(
    database: str, sandbox: SandboxProcess
) -> None:
    """The service queues over `A || B`; A refuses connections, so the worker's job hands
    every batch to B, and each row says which provider took it and which was tried."""
    down = f"allmysms+http://login:key@127.0.0.1:{free_port()}"
    with _running(database, f"{down} || {sandbox.smsworks_dsn()}") as (service, _):
        response = service.post({"to": _numbers(30), "text": "Failover", "sender": "Acme"})
        assert response.status_code == 202, response.text
        send_id = response.json()["send_id"]
        _until(_settled(database, send_id), "the send to be sent")
        rows = _rows(
            database,
            f"SELECT provider, tried, status, count(*) FROM messages WHERE send_id = '{send_id}'"  # noqa: S608
            " GROUP BY provider, tried, status",
        )
        assert [tuple(r) for r in rows] == [("smsworks", "allmysms", "sent", 30)]
        assert _inbox(sandbox) == Counter(_numbers(30))
        routes = service.get("/v1/routes")
        assert [m["provider"] for m in routes[0]["members"]] == ["allmysms", "smsworks"]


def test_a_queued_round_robin_send_goes_out_as_planned_each_row_through_its_provider(
    database: str, sandbox: SandboxProcess
) -> None:
    store = Store(database)
    first = sandbox.dsn_for("allmysms", login="rich", api_key="rich-key", batch_size="5")
    gateway = recording_gateway(f"{first} && {sandbox.smsworks_dsn()}", store)
    answer = accept_send(gateway, Sends(store), _numbers(20), "Spread", sender="Acme")
    planned = dict(
        _rows(database, f"SELECT id, provider FROM messages WHERE send_id = '{answer['send_id']}'")  # noqa: S608
    )
    assert set(planned.values()) == {"allmysms", "smsworks"}
    runner = Runner(store, gateway)
    for chunk in range(4):
        runner.run(answer["send_id"], chunk)
    sent = dict(
        _rows(
            database,
            f"SELECT id, provider FROM messages WHERE send_id = '{answer['send_id']}'"  # noqa: S608
            " AND status = 'sent'",
        )
    )
    assert sent == planned  # every row went through the provider it was planned for
    assert _inbox(sandbox) == Counter(_numbers(20))
    gateway.close()
    store.close()


def test_a_queued_sends_status_changes_reach_the_client_through_the_workers_jobs(
    database: str, sandbox: SandboxProcess
) -> None:
    """On PostgreSQL the store's trigger defers a delivery job with each transaction's
    callbacks: the worker posts queued, then sent, for every message, signed."""
    from smsgate.sandbox.server import BackgroundApp
    from tests.test_callbacks import SECRET, Receiver, signature_valid

    receiver = Receiver([204])
    with BackgroundApp(receiver) as client_app:
        with _running(database, sandbox.dsn("rich", "rich-key"), callback_secret=SECRET) as (
            service,
            _,
        ):
            body = {"to": _numbers(3), "text": "Told", "callback_url": f"{client_app.url}/cb"}
            response = service.post(body)
            assert response.status_code == 202, response.text
            _until(lambda: len(receiver.seen) >= 6, "six callbacks")
        time.sleep(0.2)
    told = sorted(
        (json.loads(body)["data"]["to"], json.loads(body)["data"]["status"])
        for _, body in receiver.seen
    )
    assert told == sorted((n, s) for n in _numbers(3) for s in ("queued", "sent"))
    assert all(signature_valid(SECRET, headers, body) for headers, body in receiver.seen)
