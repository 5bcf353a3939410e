"""A text per recipient, through each provider's own form, from the library and the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate.cli import main
from smsgate.core.errors import InvalidText
from smsgate.core.personalise import Template
from smsgate.core.report import SendStatus
from smsgate.gateway import Gateway
from smsgate.sandbox.server import BackgroundApp, BackgroundSandbox
from smsgate.service.app import ServiceConfig, create_app
from smsgate.store import Store
from tests.conftest import AUTH, FAST_RETRY, WAIT, inbox

ROWS = [
    {"to": "+33612345678", "name": "Ann", "code": "4821"},
    {"to": "+33612345679", "name": "Bob", "code": "1234"},
    {"to": "not-a-number", "name": "Eve", "code": "1"},
    {"to": "+33612345670", "name": "Zoé" + "x" * 200, "code": "9"},
]
TEMPLATE = "Hi {name}, your code is {code}. {{braces}} stay"

DSNS: dict[str, Callable[[BackgroundSandbox], str]] = {
    "allmysms": lambda sandbox: sandbox.dsn(),
    "messangi": lambda sandbox: sandbox.messangi_dsn(),
    "smsworks": lambda sandbox: sandbox.smsworks_dsn(),
}


@pytest.mark.parametrize("provider", sorted(DSNS))
def test_each_recipient_gets_its_text_in_one_request(
    sandbox: BackgroundSandbox, provider: str
) -> None:
    with Gateway.from_dsn(DSNS[provider](sandbox), retry=FAST_RETRY, env={}) as gateway:
        report = gateway.send_personalised(ROWS, TEMPLATE, sender="ACME")
    assert report.status is SendStatus.PARTIAL  # some rows could not go
    assert len(report.requests) == 1
    assert [r.to for r in report.recipients] == ["33612345678", "33612345679"]
    reasons = {s.input: s.reason for s in report.skipped}
    assert "not a phone number" in reasons["not-a-number"]
    assert "too long" in reasons["+33612345670"]  # never truncated: that one alone is skipped
    texts = {str(m["to"]): m["text"] for m in inbox(sandbox)}
    assert texts == {
        "33612345678": "Hi Ann, your code is 4821. {braces} stay",
        "33612345679": "Hi Bob, your code is 1234. {braces} stay",
    }


def test_a_template_without_placeholders_is_one_text_for_all(sandbox: BackgroundSandbox) -> None:
    with Gateway.from_dsn(sandbox.dsn(), retry=FAST_RETRY, env={}) as gateway:
        report = gateway.send_personalised(ROWS[:2], "Same for all")
    assert report.status is SendStatus.SENT
    assert {m["text"] for m in inbox(sandbox)} == {"Same for all"}


def test_the_csv_from_the_cli_and_its_errors(
    sandbox: BackgroundSandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SMSGATE_DATA_DIR", str(tmp_path))
    people = tmp_path / "people.csv"
    people.write_text("to,name\n+33612345678,Ann\n+33612345679,Bob\n", encoding="utf-8")
    dsn = sandbox.messangi_dsn()
    args = ["send", "--dsn", dsn, "--csv", str(people), "--from", "ACME"]
    assert main([*args, "--json", "Hello {name}"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "sent" and len(report["requests"]) == 1
    assert sorted(str(m["text"]) for m in inbox(sandbox)) == ["Hello Ann", "Hello Bob"]
    assert main(["messages", "--json", "--limit", "2"]) == 0
    stored = json.loads(capsys.readouterr().out)["items"]
    assert sorted(m["text"] for m in stored) == ["Hello Ann", "Hello Bob"]  # each its own

    assert main([*args, "Hello {surname}"]) == 2
    assert "names 'surname', which the CSV does not have" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_text("phone,name\n+33612345678,Ann\n", encoding="utf-8")
    assert main(["send", "--dsn", dsn, "--csv", str(bad), "--from", "ACME", "Hi {name}"]) == 2
    assert "no 'to' column" in capsys.readouterr().err
    assert main(["send", "--dsn", dsn, "--from", "ACME", "Hi"]) == 2
    assert "pass --to NUMBERS or --csv FILE" in capsys.readouterr().err


def test_lone_braces_are_refused() -> None:
    for text in ("Hi {name", "Hi name}", "Hi {}"):
        with pytest.raises(InvalidText, match="brace"):
            Template.parse(text)


literals = st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=12)
names = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True)


@given(st.lists(st.tuples(literals, names), max_size=5), literals, st.data())
def test_templates_render_what_they_say(
    parts: list[tuple[str, str]], tail: str, data: st.DataObject
) -> None:
    text = "".join(f"{literal}{{{name}}}" for literal, name in parts) + tail + "{{x}}"
    template = Template.parse(text)
    assert list(template.columns) == list(dict.fromkeys(name for _, name in parts))
    values = {name: data.draw(literals) for name in template.columns}
    expected = "".join(f"{literal}{values[name]}" for literal, name in parts) + tail + "{x}"
    assert template.render(template.values_of(values)) == expected


def test_the_http_service_takes_rows(sandbox: BackgroundSandbox, tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'smsgate.db'}")
    gateway = Gateway.from_dsn(sandbox.smsworks_dsn(), retry=FAST_RETRY, env={}, recorder=store)
    app = create_app(gateway, store, ServiceConfig(("key",), ()))
    with BackgroundApp(app) as service:
        api = httpx.Client(base_url=service.url, headers=AUTH, params=WAIT)
        body = {"text": "Hi {name}", "sender": "ACME", "rows": ROWS[:2]}
        sent = api.post("/v1/messages", json=body)
        assert sent.status_code == 201, sent.text
        assert sent.json()["status"] == "sent"
        both = api.post("/v1/messages", json={**body, "to": "+33612345678"})
        assert both.status_code == 422 and "either as 'to' or as 'rows'" in both.json()["error"]
        missing = api.post("/v1/messages", json={**body, "text": "Hi {surname}"})
        assert missing.status_code == 422 and "surname" in missing.json()["error"]
    gateway.close()
    store.close()
    assert sorted(str(m["text"]) for m in inbox(sandbox)) == ["Hi Ann", "Hi Bob"]


def test_probable_mistakes_are_refused_or_warned_not_guessed(
    sandbox: BackgroundSandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("SMSGATE_DATA_DIR", str(tmp_path))
    dsn = sandbox.messangi_dsn()
    # A row missing a column the template uses: that recipient is skipped with the reason;
    # an empty value is a value. Semicolons (a French spreadsheet's export) are read too.
    people = tmp_path / "people.csv"
    people.write_text(
        "to;name;code\n+33612345678;Ann;1\n+33612345679;Bob\n+33612345670;;3\n", encoding="utf-8"
    )
    args = ["send", "--dsn", dsn, "--csv", str(people), "--from", "ACME", "--json"]
    assert main([*args, "Hi {name}, {code}"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [s["input"] for s in report["skipped"]] == ["+33612345679"]
    assert "no 'code' value" in report["skipped"][0]["reason"]
    assert sorted(str(m["text"]) for m in inbox(sandbox)) == ["Hi , 3", "Hi Ann, 1"]
    # A template without --csv goes as written, with a warning.
    assert main(["send", "--dsn", dsn, "--to", "0612345678", "--from", "ACME", "Hi {name}"]) == 0
    assert "names {name} but no --csv" in capsys.readouterr().err
    # A time in the past is refused, never sent now.
    past = ["send", "--dsn", sandbox.dsn(), "--to", "0612345678", "--at", "2020-01-01 09:00"]
    assert main([*past, "Hi"]) == 2
    assert "is in the past" in capsys.readouterr().err
    # Over a year ahead is most likely a typo in the year.
    typo = ["send", "--dsn", sandbox.dsn(), "--to", "0612345678", "--at", "2099-01-01 09:00"]
    assert main([*typo, "Hi"]) == 2
    assert "more than a year ahead: check the year" in capsys.readouterr().err
    # An invalid status filter.
    assert main(["messages", "--status", "deliverd"]) == 2
    assert "unknown status 'deliverd': use one of" in capsys.readouterr().err


def test_the_api_refuses_an_unknown_field_instead_of_ignoring_it(
    sandbox: BackgroundSandbox, tmp_path: Path
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'smsgate.db'}")
    gateway = Gateway.from_dsn(sandbox.dsn(), retry=FAST_RETRY, env={}, recorder=store)
    app = create_app(gateway, store, ServiceConfig(("key",), ()))
    with BackgroundApp(app) as service:
        client = httpx.Client(base_url=service.url, headers=AUTH, params=WAIT)
        answer = client.post(
            "/v1/messages",
            json={"to": ["0612345678"], "text": "Hi", "schedule_at": "2030-01-01T09:00:00Z"},
        )
        assert answer.status_code == 422
        assert answer.json()["error"].startswith("unknown field 'schedule_at'")
        past = {"to": ["0612345678"], "text": "Hi", "scheduled_at": "2020-01-01T09:00:00Z"}
        answer = client.post("/v1/messages", json=past)
        assert answer.status_code == 422 and "in the past" in answer.json()["error"]
        far = {**past, "scheduled_at": "2099-01-01T09:00:00Z"}
        answer = client.post("/v1/messages", json=far)
        assert answer.status_code == 422 and "more than a year ahead" in answer.json()["error"]
    gateway.close()
    store.close()
    assert inbox(sandbox) == []
