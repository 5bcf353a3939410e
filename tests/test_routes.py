"""Routes over real sockets: two sandboxes as two providers, the first misbehaving.

The rule under test: the next provider takes a batch only when the previous one provably did
not send it; a batch that may have been sent is ``unknown`` and never goes anywhere else.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.core.errors import ConfigurationError, Unsupported
from smsgate.core.report import RecipientStatus
from smsgate.core.route import Route, RouteMode, RouteTable
from smsgate.gateway import Gateway
from smsgate.gateway.routes import FAILURES
from smsgate.sandbox.messangi.emulator import MessangiEmulator
from smsgate.sandbox.server import BackgroundSandbox
from smsgate.store import Store
from smsgate.store.recorder import ABANDONED
from tests.conftest import (
    FAST_RETRY,
    WEBHOOK_SECRET,
    add_account,
    inbox,
    inject,
    service_with_webhooks,
)

FRENCH = [f"+3361234{i:04d}" for i in range(6)]


@pytest.fixture
def second() -> Iterator[BackgroundSandbox]:
    with BackgroundSandbox() as server:
        yield server


def closed_port() -> int:
    """A loopback port nothing listens on: a connection there is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def refusing_dsn() -> str:
    return f"allmysms+http://login:key@127.0.0.1:{closed_port()}"


def gateway(dsn: str | None, store: Store | None = None, **env: str) -> Gateway:
    return Gateway.from_dsn(dsn, retry=FAST_RETRY, recorder=store, env=env)


def test_a_provider_refusing_connections_hands_every_batch_to_the_next(
    second: BackgroundSandbox, store: Store
) -> None:
    with gateway(f"{refusing_dsn()} || {second.smsworks_dsn()}", store) as gw:
        report = gw.send(FRENCH, "Failover", sender="Acme")
    assert report.accepted == len(FRENCH)
    assert {r.provider for r in report.recipients} == {"smsworks"}
    assert {r.tried for r in report.recipients} == {("allmysms",)}
    assert len(inbox(second)) == len(FRENCH)
    rows = store.messages(limit=100).messages
    assert {(row.provider, row.tried, row.status) for row in rows} == {
        ("smsworks", "allmysms", "sent")
    }


def test_a_provider_out_of_credit_hands_the_batch_to_the_next(
    sandbox: BackgroundSandbox, second: BackgroundSandbox
) -> None:
    broke = add_account(sandbox, "broke", "broke-key", 0)
    with gateway(f"{broke} || {second.dsn()}") as gw:
        report = gw.send(FRENCH[:3], "Out of credit")
    assert report.accepted == 3
    assert [r.tried for r in report.recipients] == [("allmysms",)] * 3
    assert inbox(sandbox) == []
    assert len(inbox(second)) == 3


def test_a_batch_the_first_provider_may_have_sent_never_goes_to_the_second(
    sandbox: BackgroundSandbox, second: BackgroundSandbox, store: Store
) -> None:
    """HTTP 500 after AllMySMS took the batch: unknown, with the provider that may have it."""
    inject(sandbox, method="sendSms", when="after", status=500)
    with gateway(f"{sandbox.dsn()} || {second.smsworks_dsn()}", store) as gw:
        report = gw.send(FRENCH[:2], "Maybe sent", sender="Acme")
    assert {r.status for r in report.recipients} == {RecipientStatus.UNKNOWN}
    assert {(r.provider, r.tried) for r in report.recipients} == {("allmysms", ())}
    assert len(inbox(sandbox)) == 2  # the first provider has them
    assert inbox(second) == []  # and the second never saw them
    assert {(row.provider, row.status) for row in store.messages().messages} == {
        ("allmysms", "unknown")
    }


def test_round_robin_spreads_batches_across_providers(
    sandbox: BackgroundSandbox, second: BackgroundSandbox
) -> None:
    first = sandbox.dsn_for("allmysms", batch_size="2")
    other = second.dsn_for("allmysms", batch_size="2")
    with gateway(f"{first} && {other}") as gw:
        report = gw.send(FRENCH, "Round robin")
    assert report.accepted == len(FRENCH)
    assert len(inbox(sandbox)) == 4 or len(inbox(second)) == 4  # three batches of two
    assert len(inbox(sandbox)) + len(inbox(second)) == len(FRENCH)
    assert {r.provider for r in report.recipients} == {"allmysms"}
    assert {len(inbox(sandbox)), len(inbox(second))} == {2, 4}


def test_round_robin_still_fails_over_when_one_provider_is_down(
    second: BackgroundSandbox,
) -> None:
    with gateway(f"{refusing_dsn()} && {second.smsworks_dsn()}") as gw:
        report = gw.send(FRENCH, "Round robin, one down", sender="Acme")
    assert report.accepted == len(FRENCH)
    assert {r.provider for r in report.recipients} == {"smsworks"}
    assert len(inbox(second)) == len(FRENCH)


def test_a_prefix_route_sends_each_country_through_its_provider(
    sandbox: BackgroundSandbox, second: BackgroundSandbox
) -> None:
    routes = f"+33 = {sandbox.dsn()}; +44 = {second.smsworks_dsn()}"
    with gateway(None, SMSGATE_ROUTES=routes) as gw:
        report = gw.send(
            ["+33612340001", "+447700900123", "+33612340002"], "By country", sender="Acme"
        )
    assert report.accepted == 3
    by_number = {r.to: r.provider for r in report.recipients}
    assert by_number == {
        "33612340001": "allmysms",
        "33612340002": "allmysms",
        "447700900123": "smsworks",
    }
    assert len(inbox(sandbox)) == 2
    assert len(inbox(second)) == 1


def test_a_number_no_route_takes_is_skipped_saying_so(sandbox: BackgroundSandbox) -> None:
    with gateway(None, SMSGATE_ROUTES=f"+33 = {sandbox.dsn()}") as gw:
        report = gw.send(["+33612340001", "+447700900123"], "France only")
    assert report.accepted == 1
    assert [s.reason for s in report.skipped] == [
        "no route takes this number: add its prefix, or a default (*), to the routes"
    ]


def test_a_scheduled_send_skips_the_providers_that_cannot_schedule(
    sandbox: BackgroundSandbox, second: BackgroundSandbox
) -> None:
    from datetime import UTC, datetime, timedelta

    later = datetime.now(UTC) + timedelta(hours=2)
    with gateway(f"{second.messangi_dsn()} || {sandbox.dsn()}") as gw:
        report = gw.send(FRENCH[:2], "Later", scheduled_at=later)
    assert {(r.status, r.provider, r.tried) for r in report.recipients} == {
        (RecipientStatus.SCHEDULED, "allmysms", ())
    }
    assert inbox(second) == []


def test_an_action_no_provider_of_the_route_can_do_is_refused_before_any_request(
    sandbox: BackgroundSandbox, second: BackgroundSandbox
) -> None:
    from datetime import UTC, datetime, timedelta

    later = datetime.now(UTC) + timedelta(hours=2)
    with (
        gateway(f"{sandbox.messangi_dsn()} || {second.messangi_dsn()}") as gw,
        pytest.raises(Unsupported, match=r"messangi cannot schedule a send; .*allmysms"),
    ):
        gw.send(FRENCH[:2], "Later", scheduled_at=later)
    assert inbox(sandbox) == [] and inbox(second) == []


def test_every_provider_down_fails_the_batch_saying_which_were_tried(
    tmp_path: Path,
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    with gateway(f"{refusing_dsn()} || {refusing_dsn()}", store) as gw:
        report = gw.send(FRENCH[:2], "Nobody home")
    assert {r.status for r in report.recipients} == {RecipientStatus.FAILED}
    assert {(r.provider, r.tried) for r in report.recipients} == {("allmysms", ("allmysms",))}
    assert {row.status for row in store.messages().messages} == {"failed"}


def test_a_provider_that_keeps_failing_is_demoted_then_tried_last(
    second: BackgroundSandbox,
) -> None:
    with gateway(f"{refusing_dsn()} || {second.smsworks_dsn()}") as gw:
        assert gw.routing is not None
        first = next(gw.routing.members())
        for _ in range(FAILURES):
            gw.send(FRENCH[:1], "Failing", sender="Acme")
        assert first.health.snapshot()["state"] == "demoted"
        report = gw.send(FRENCH[:1], "Straight to the healthy one", sender="Acme")
    # demoted: the healthy provider goes first, so the down one is not even tried
    assert [(r.provider, r.tried) for r in report.recipients] == [("smsworks", ())]


def test_a_route_never_shows_a_credential() -> None:
    route = Route.parse("allmysms://login:SECRETKEY@default || smsworks://TOKENZZ@default")
    assert "SECRETKEY" not in route.masked() and "TOKENZZ" not in repr(route)
    with Gateway.from_dsn(
        "allmysms://login:SECRETKEY@default || smsworks://TOKENZZ@default", env={}
    ) as gw:
        assert "SECRETKEY" not in repr(gw) and "TOKENZZ" not in repr(gw)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("allmysms://a:b@default || ", "empty provider"),
        ("allmysms://a:b@default || smsworks://t@default && messangi://k@default", "mixes"),
        ("no-scheme || allmysms://a:b@default", "no scheme"),
    ],
)
def test_a_malformed_route_is_one_clear_line(text: str, problem: str) -> None:
    with pytest.raises(ConfigurationError, match=problem):
        Route.parse(text)


def test_a_route_table_reads_as_text_or_toml() -> None:
    text = "+33 = allmysms://a:b@default\n+331 = smsworks://t@default; * = messangi://k@default"
    toml = (
        '[routes]\n"+33" = "allmysms://a:b@default"\n"+331" = "smsworks://t@default"\n'
        'default = "messangi://k@default"\n'
    )
    for table in (RouteTable.parse(text), RouteTable.parse(toml)):
        assert table.prefix_for("33612345678") == "33"
        assert table.prefix_for("33112345678") == "331"  # the longest prefix wins
        assert table.prefix_for("447700900123") == ""
    with pytest.raises(ConfigurationError, match="not a number prefix"):
        RouteTable.parse("+3x = allmysms://a:b@default")


_SCHEMES = st.sampled_from(["allmysms://l:k@default", "smsworks://t@default", "sandbox://"])


@given(
    dsns=st.lists(_SCHEMES, min_size=1, max_size=4),
    operator=st.sampled_from(["||", "&&"]),
    spaces=st.sampled_from(["", " ", "  "]),
)
def test_a_route_parses_back_to_its_members_in_order(
    dsns: list[str], operator: str, spaces: str
) -> None:
    route = Route.parse(f"{spaces}{operator}{spaces}".join(dsns))
    assert route.dsns == tuple(dsns)
    if len(dsns) == 1:
        assert route.mode is RouteMode.SINGLE
    else:
        assert route.mode is (RouteMode.FAILOVER if operator == "||" else RouteMode.ROUND_ROBIN)


def test_a_pipelining_provider_down_hands_its_single_sends_to_the_next_in_batches(
    second: BackgroundSandbox, store: Store
) -> None:
    """Messangi sends one recipient per request, several in flight; when it refuses
    connections, AllMySMS takes the numbers in its own batches, not one request each."""
    down = f"messangi+http://KEY@127.0.0.1:{closed_port()}"
    numbers = [f"+336123{i:05d}" for i in range(40)]
    with gateway(f"{down} || {second.dsn()}", store) as gw:
        report = gw.send(numbers, "Pipelined failover", sender="Acme")
    assert report.accepted == len(numbers)
    # the first number was tried at Messangi; the others went straight to AllMySMS
    assert [r.tried for r in report.recipients] == [("messangi",)] + [()] * 39
    assert {r.provider for r in report.recipients} == {"allmysms"}
    assert len(inbox(second)) == len(numbers)
    assert len(report.requests) <= 3  # a handful of AllMySMS batches
    assert {(row.provider, row.status) for row in store.messages(limit=100).messages} == {
        ("allmysms", "sent")
    }


def test_one_service_takes_the_receipts_of_every_provider_of_its_routes(
    store: Store, sandbox: BackgroundSandbox, second: BackgroundSandbox
) -> None:
    """SMSGATE_PUBLIC_URL: each send asks Messangi and The SMS Works to POST receipts to
    this service's /webhooks/{provider}/{secret}; both land, and the routes show health."""
    sandbox.state.emulator(MessangiEmulator).events.settings.receipt_delay = 0.05
    route = f"{sandbox.messangi_dsn()} && {second.smsworks_dsn()}"
    numbers = [f"+4477009001{i:02d}" for i in range(4)]
    with service_with_webhooks(store, lambda _: route, public_url=True) as api:
        answer = api.post("/v1/messages", json={"to": numbers, "text": "Hi", "sender": "ACME"})
        assert answer.status_code == 201, answer.text
        recipients = answer.json()["recipients"]
        assert {r["provider"] for r in recipients} == {"messangi", "smsworks"}
        deadline = time.monotonic() + 15
        for recipient in recipients:
            path = f"/v1/messages/{recipient['id']}"
            while (found := api.get(path).json())["status"] != "delivered":
                assert time.monotonic() < deadline, found
                time.sleep(0.05)
        routes = api.get("/v1/routes").json()
    (only,) = routes
    assert only["mode"] == "round robin"
    assert {m["provider"]: m["health"]["failed"] for m in only["members"]} == {
        "messangi": 0,
        "smsworks": 0,
    }
    assert all(m["health"]["latency_ms"] for m in only["members"])
    assert WEBHOOK_SECRET not in json.dumps(routes)


def test_a_failover_send_killed_mid_request_leaves_the_second_providers_messages_unknown(
    sandbox: BackgroundSandbox, tmp_path: Path
) -> None:
    """SIGKILL while the second provider holds the batch the first could not take: the rows
    already name the second (written ahead of its request), so the next command makes them
    unknown there, saying why, and nothing is ever sent again through either."""
    inject(sandbox, method="smsworks.batch", when="after", delay=30.0)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SMSGATE_")}
    env["SMSGATE_DATA_DIR"] = str(tmp_path)
    route = f"{refusing_dsn()} || {sandbox.smsworks_dsn()}"
    smsgate = [sys.executable, "-m", "smsgate.cli"]
    command = [*smsgate, "send", "--to", "0612345678, 0612345679", "--from", "Acme"]
    process = subprocess.Popen(
        [*command, "--dsn", route, "Killed over there"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while len(inbox(sandbox)) < 2:
            assert time.monotonic() < deadline, "the second provider never got the batch"
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        process.kill()
    shown = subprocess.run(
        [*smsgate, "messages", "--json"], env=env, capture_output=True, text=True, check=True
    )
    items = json.loads(shown.stdout)["items"]
    assert {(m["provider"], m["status"], m["error"]) for m in items} == {
        ("smsworks", "unknown", ABANDONED)
    }
    assert len(inbox(sandbox)) == 2  # they did go out, once, through the second provider


def test_a_provider_whose_receipts_show_slow_deliveries_is_tried_last(
    sandbox: BackgroundSandbox, second: BackgroundSandbox, store: Store
) -> None:
    """Receipts in the store say the first provider delivered in 20 minutes: judged, it is
    demoted, and the next send goes to the second without trying it."""
    from datetime import UTC, datetime, timedelta

    from smsgate.core.receipts import Receipt
    from smsgate.core.status import MessageStatus
    from smsgate.usecases.health import judge_deliveries

    numbers = [f"+336123{i:05d}" for i in range(25)]
    with gateway(f"{sandbox.dsn()} || {second.smsworks_dsn()}", store) as gw:
        first = gw.send(numbers, "Slow", sender="Acme")
        assert {r.provider for r in first.recipients} == {"allmysms"}
        late = datetime.now(UTC) + timedelta(minutes=20)
        store.apply_receipts(
            [
                Receipt(
                    "allmysms",
                    MessageStatus.DELIVERED,
                    True,
                    "1",
                    r.provider_message_id,
                    occurred_at=late,
                )
                for r in first.recipients
            ]
        )
        assert judge_deliveries(gw, store, slow=600) == ["allmysms"]
        routes = gw.routes()[0]["members"]
        assert isinstance(routes, list)
        assert routes[0]["health"]["state"] == "demoted"
        assert routes[0]["health"]["delivery_median_seconds"] >= 1190
        report = gw.send(numbers[:2], "Now the fast one", sender="Acme")
    assert [(r.provider, r.tried) for r in report.recipients] == [("smsworks", ())] * 2


def test_routes_can_live_in_a_toml_file(
    sandbox: BackgroundSandbox, second: BackgroundSandbox, tmp_path: Path
) -> None:
    table = tmp_path / "routes.toml"
    table.write_text(
        f'[routes]\n"+33" = "{sandbox.dsn()}"\ndefault = "{second.smsworks_dsn()}"\n',
        encoding="utf-8",
    )
    with gateway(None, SMSGATE_ROUTES=str(table)) as gw:
        report = gw.send(["+33612340001", "+447700900123"], "From TOML", sender="Acme")
    assert {r.to: r.provider for r in report.recipients} == {
        "33612340001": "allmysms",
        "447700900123": "smsworks",
    }
    with pytest.raises(ConfigurationError, match="cannot be read"):
        Gateway.from_dsn(None, env={"SMSGATE_ROUTES": str(tmp_path / "missing.toml")})
