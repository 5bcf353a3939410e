"""The smsgate command as a user runs it: a real process, its stdout, stderr and exit code."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from starlette.types import Receive, Scope, Send

from smsgate.sandbox.allmysms.emulator import AllMySmsEmulator
from smsgate.sandbox.server import BackgroundApp, BackgroundSandbox, SandboxProcess, free_port
from tests.conftest import add_account, inbox, modules_a_send_loads

SMSGATE = [sys.executable, "-m", "smsgate.cli"]


DATA_DIR = Path(tempfile.mkdtemp(prefix="smsgate-cli-tests-"))
LATER = (datetime.now() + timedelta(days=30)).strftime("%Y-%m-%d 09:00")
"""Ahead, and well within the year a send may be scheduled."""


def run(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SMSGATE_")}
    environment["SMSGATE_DATA_DIR"] = str(DATA_DIR)
    environment.update(env or {})
    return subprocess.run(
        [*SMSGATE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
        check=False,
    )


def test_send_json_prints_exactly_one_object(sandbox: BackgroundSandbox) -> None:
    done = run(
        "send",
        "--to",
        "0612345678,junk",
        "--from",
        "Acme",
        "--dsn",
        sandbox.dsn(),
        "--json",
        "Hello",
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["status"] == "partial" and report["recipients"][0]["status"] == "sent"
    assert done.stderr == ""


def test_default_is_the_embedded_sandbox_and_it_says_so() -> None:
    done = run("send", "--to", "0612345678", "--json", "Hello")
    assert done.returncode == 0
    assert json.loads(done.stdout)["sandbox"] is True
    assert "nothing left this machine" in done.stderr


def test_text_from_stdin_numbers_from_a_file(sandbox: BackgroundSandbox, tmp_path: Path) -> None:
    numbers = tmp_path / "numbers.txt"
    numbers.write_text("06 11 11 11 11\n0622222222, 0633333333\n")
    done = run(
        "send", "--to", f"@{numbers}", "--dsn", sandbox.dsn(), "--json", "-", stdin="From stdin\n"
    )
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["recipients"]) == 3
    assert {m["text"] for m in inbox(sandbox)} == {"From stdin"}


def test_truncation_warns_on_stderr(sandbox: BackgroundSandbox) -> None:
    done = run("send", "--to", "0612345678", "--dsn", sandbox.dsn(), "a" * 200)
    assert done.returncode == 0 and "warning: text truncated from 200 to 160" in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["send", "--to", "0612345678", "--from", "x", "Hi"], "the sender 'x' is not allowed"),
        (["send", "--to", "abc", "Hi"], "no valid recipient"),
        (["send", "--to", "0612345678", ""], "the text is empty"),
        (["send", "--to", "0612345678", "--no-truncate", "a" * 161], "too long"),
        (["send", "--to", "@/nonexistent/file", "Hi"], "cannot read the numbers file"),
        (["send", "--to", "0612345678", "--region", "XX", "Hi"], "unknown default region"),
        (["send", "--to", "0612345678", "--dsn", "nope://a:b@c", "Hi"], "unknown provider"),
        (["send", "Hi"], "pass --to NUMBERS or --csv FILE"),
        (["send", "--to", "0612345678", "--max-parts", "0", "Hi"], "--max-parts"),
    ],
)
def test_bad_input_is_one_line_exit_2(args: list[str], message: str) -> None:
    done = run(*args)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_json_errors_are_json_too() -> None:
    done = run("send", "--to", "abc", "--json", "Hi")
    assert done.returncode == 2 and json.loads(done.stdout)["exit_code"] == 2


def test_nothing_accepted_is_exit_1(sandbox: BackgroundSandbox) -> None:
    done = run("send", "--to", "0612345678", "--dsn", sandbox.dsn("demo", "bad"), "Hi")
    assert done.returncode == 1 and "rejected" in done.stdout
    assert "bad" not in done.stdout.replace("rejected", "")


def test_trial_mode_from_the_cli(sandbox: BackgroundSandbox) -> None:
    operator = add_account(sandbox, "operator", "opkey", 1000)
    done = run(
        "send",
        "--to",
        "0611111111,0622222222,0633333333",
        "--dsn",
        "allmysms://@default",
        "--json",
        "Hi",
        env={"SMSGATE_TRIAL_DSN": operator},
    )
    report = json.loads(done.stdout)
    assert report["trial"] and report["text"] == "TRIAL USE: Hi" and len(report["recipients"]) == 2
    missing = run("send", "--to", "0611111111", "--dsn", "allmysms://@default", "Hi")
    assert missing.returncode == 2 and "SMSGATE_TRIAL_DSN" in missing.stderr


def test_segments_calculator() -> None:
    done = run("segments", "--json", "a" * 161)
    assert json.loads(done.stdout) == {
        "encoding": "GSM-7",
        "units": 161,
        "parts": 2,
        "part_units": [153, 8],
        "ucs2_characters": [],
    }
    human = run("segments", "Ça coûte")
    assert "UCS-2: 8 UTF-16 units, 1 part(s)" in human.stdout and "'û'" in human.stdout


def test_info(sandbox: BackgroundSandbox) -> None:
    done = run("info", "--dsn", sandbox.dsn(), "--json")
    info = json.loads(done.stdout)
    assert (info["status"], info["credits"]) == ("Active Account", 15000)
    refused = run("info", "--dsn", sandbox.dsn("demo", "wrong"))
    assert refused.returncode == 1 and "check the credentials" in refused.stderr
    assert "wrong" not in refused.stderr


def test_a_provider_that_does_not_answer_is_an_ordinary_error_not_a_bug() -> None:
    dsn = f"allmysms+http://demo:ZZSECRETZZ@127.0.0.1:{free_port()}"
    done = run("info", "--dsn", dsn)
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith("error: could not connect to 127.0.0.1")
    assert "bug" not in done.stderr and "Traceback" not in done.stderr
    as_json = run("info", "--dsn", dsn, "--json")
    assert json.loads(as_json.stdout)["exit_code"] == 1
    assert "ZZSECRETZZ" not in done.stderr + as_json.stdout + as_json.stderr


def test_a_large_send_shows_progress_on_a_terminal_only(sandbox: BackgroundSandbox) -> None:
    """The bar is drawn where a person watches (stderr a terminal), never into a pipe or a
    log."""
    import pty

    rich = add_account(sandbox, "rich", "k", 100_000)
    numbers = ",".join(f"+336{n:08d}" for n in range(2500))
    done = run("send", "--to", numbers, "--dsn", rich, "Hi")
    assert done.returncode == 0 and "2500 sent" in done.stdout
    assert "sending" not in done.stderr
    watched, terminal = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SMSGATE_")}
    environment |= {"SMSGATE_DATA_DIR": str(DATA_DIR), "TERM": "xterm", "COLUMNS": "100"}
    environment.pop("NO_COLOR", None)
    more = ",".join(f"+337{n:08d}" for n in range(2500))
    with subprocess.Popen(
        [*SMSGATE, "send", "--to", more, "--dsn", rich, "Hi"],
        stdout=subprocess.DEVNULL,
        stderr=terminal,
        env=environment,
    ) as process:
        os.close(terminal)
        drawn = b""
        while chunk := _read_some(watched):
            drawn += chunk
        assert process.wait(timeout=60) == 0
    os.close(watched)
    assert b"sending" in drawn


def _read_some(fd: int) -> bytes:
    """What a terminal shows next; nothing once the other side closed it."""
    try:
        return os.read(fd, 4096)
    except OSError:  # EIO: the process ended and the terminal is gone
        return b""


def test_the_sandbox_command_serves_the_api() -> None:
    with SandboxProcess(accounts=["acme:key:300"]) as server:
        done = run("send", "--to", "0612345678", "--dsn", server.dsn("acme", "key"), "--json", "Hi")
        assert json.loads(done.stdout)["credits_left"] == 285
    assert f"use: --dsn allmysms+http://demo:demo@127.0.0.1:{server.port}" in server.stderr


def test_the_sandbox_command_refuses_a_bad_account() -> None:
    done = run("sandbox", "--account", "nokey")
    assert done.returncode == 2 and "LOGIN:APIKEY[:CREDITS]" in done.stderr


def test_sends_are_recorded_and_listed_even_on_the_embedded_sandbox() -> None:
    sent = json.loads(run("send", "--to", "0612345678", "--tag", "cli-list", "--json", "Hi").stdout)
    (message_id,) = [r["id"] for r in sent["recipients"]]
    listed = json.loads(run("messages", "--tag", "cli-list", "--json").stdout)
    assert listed["total"] == 1 and listed["items"][0]["id"] == message_id
    shown = json.loads(run("show", message_id, "--json").stdout)
    assert shown["status"] == "sent" and shown["sandbox"] is True
    assert [e["source"] for e in shown["events"]] == ["send"]
    human = run("show", message_id)
    assert message_id in human.stdout and "sent" in human.stdout
    piped = run("messages", "--tag", "cli-list")  # not a terminal: 80 columns
    assert message_id in piped.stdout and "…" not in piped.stdout.split()[0:8]
    missing = run("show", "msg_nope")
    assert missing.returncode == 2 and "no message 'msg_nope'" in missing.stderr


def test_the_listing_piped_at_80_columns_is_one_whole_line_per_message() -> None:
    """Piped (80 columns), a long two-line text takes what the id, number, status and time
    leave, cut with an ellipsis; none of those is cut, and the message stays on one line."""
    text = "Bonjour ! Votre code est 4821.\nRépondez STOP au 36180 pour ne plus recevoir."
    sent = run("send", "--to", "0612345678", "--tag", "cli-narrow", "--json", text)
    (message_id,) = [r["id"] for r in json.loads(sent.stdout)["recipients"]]
    piped = run("messages", "--tag", "cli-narrow", env={"COLUMNS": "80"})
    lines = piped.stdout.splitlines()
    assert len(lines) == 4 and lines[-1] == "1 of 1"  # header, rule, the message, the count
    header, row = lines[0].split(), lines[2]
    assert header[:8] == ["id", "┃", "to", "┃", "status", "┃", "created", "┃"]
    assert row.split()[:6] == [message_id, "│", "33612345678", "│", "sent", "│"]
    assert row.split()[9].startswith("Bo") and row.rstrip().endswith("…") and len(row) <= 80
    wide = run("messages", "--tag", "cli-narrow", env={"COLUMNS": "160"}).stdout.splitlines()
    assert "Bonjour ! Votre code est 4821. Répondez" in wide[2]  # the first 40 characters


def test_schedule_then_cancel(sandbox: BackgroundSandbox) -> None:
    sent = run(
        "send",
        "--to",
        "0612345678",
        "--dsn",
        sandbox.dsn(),
        "--at",
        LATER,
        "--json",
        "Later",
    )
    report = json.loads(sent.stdout)
    assert report["status"] == "scheduled"
    message_id = report["recipients"][0]["id"]
    done = run("cancel", message_id, "--dsn", sandbox.dsn())
    assert done.returncode == 0 and "cancelled 1 message(s)" in done.stdout
    assert json.loads(run("show", message_id, "--json").stdout)["status"] == "cancelled"
    again = run("cancel", message_id, "--dsn", sandbox.dsn())
    assert again.returncode == 2 and "only a scheduled one" in again.stderr
    assert run("send", "--to", "0612345678", "--at", "soon", "Hi").returncode == 2


def test_cancel_finds_the_account_its_message_went_through(sandbox: BackgroundSandbox) -> None:
    """No --dsn needed when the message's account is at hand (SMSGATE_DSN); another account
    is refused, naming what to do, and nothing is cancelled."""
    dsn = add_account(sandbox, "planner", "PlannerKey1", 100)
    sent = run(
        "send",
        "--to",
        "0612345678",
        "--at",
        LATER,
        "--json",
        "Later",
        env={"SMSGATE_DSN": dsn},
    )
    message_id = json.loads(sent.stdout)["recipients"][0]["id"]
    other = run("cancel", message_id, "--dsn", sandbox.dsn())
    assert other.returncode == 2
    assert "went through another allmysms account" in other.stderr and "--dsn" in other.stderr
    assert "PlannerKey1" not in other.stderr + other.stdout
    assert run("cancel", message_id).returncode == 2  # the embedded sandbox is another account
    assert json.loads(run("show", message_id, "--json").stdout)["status"] == "scheduled"
    done = run("cancel", message_id, env={"SMSGATE_DSN": dsn})
    assert done.returncode == 0 and "cancelled 1 message(s)" in done.stdout
    assert json.loads(run("show", message_id, "--json").stdout)["status"] == "cancelled"


def test_the_embedded_sandbox_remembers_a_held_send_across_commands(tmp_path: Path) -> None:
    """sandbox:// keeps its state in the data directory: a later `cancel ID` needs no --dsn
    and cancels the send in the sandbox itself, which gives its credits back."""
    env = {"SMSGATE_DATA_DIR": str(tmp_path)}

    def credits() -> float:
        return float(json.loads(run("info", "--json", env=env).stdout)["credits"])

    before = credits()
    sent = run("send", "--to", "0612345678", "--at", LATER, "--json", "Later", env=env)
    message_id = json.loads(sent.stdout)["recipients"][0]["id"]
    assert credits() == before - 15
    done = run("cancel", message_id, env=env)
    assert done.returncode == 0, done.stderr
    assert "cancelled 1 message(s)" in done.stdout and "note" not in done.stdout
    assert credits() == before  # the sandbox itself cancelled it: the credits came back
    assert json.loads(run("show", message_id, "--json", env=env).stdout)["status"] == "cancelled"
    assert (tmp_path / "sandbox-embedded.db").is_file()


def test_an_ephemeral_embedded_sandbox_keeps_nothing(tmp_path: Path) -> None:
    """sandbox://?ephemeral=true keeps nothing: a later cancel finds no held send there, and
    says so in a note rather than failing."""
    env = {"SMSGATE_DATA_DIR": str(tmp_path)}
    ephemeral = "sandbox://?ephemeral=true"
    sent = run(
        "send", "--dsn", ephemeral, "--to", "0612345678", "--at", LATER, "--json", "x", env=env
    )
    message_id = json.loads(sent.stdout)["recipients"][0]["id"]
    assert not (tmp_path / "sandbox-embedded.db").exists()
    done = run("cancel", message_id, env=env)
    assert done.returncode == 0, done.stderr
    assert "no longer holds it" in done.stdout
    bad = run("send", "--dsn", "sandbox://?ephemeral=maybe", "--to", "0612345678", "x", env=env)
    assert bad.returncode == 2 and "ephemeral" in bad.stderr and "Traceback" not in bad.stderr


def test_receipts_that_fell_due_after_a_command_ended_reach_sync(tmp_path: Path) -> None:
    """The embedded sandbox's receipts come due after `send` has exited (1 s later): the next
    command's sandbox gives them, so `smsgate sync` finds them."""
    env = {"SMSGATE_DATA_DIR": str(tmp_path)}
    sent = run("send", "--to", "0612345678,0612349990", "--json", "Hi", env=env)
    ids = [r["id"] for r in json.loads(sent.stdout)["recipients"]]
    deadline = time.monotonic() + 20
    statuses: list[str] = []
    while time.monotonic() < deadline:
        assert run("sync", env=env).returncode == 0
        statuses = [json.loads(run("show", i, "--json", env=env).stdout)["status"] for i in ids]
        if statuses == ["delivered", "failed"]:
            break
        time.sleep(0.3)
    assert statuses == ["delivered", "failed"]


def test_sync_and_replies_from_the_cli(sandbox: BackgroundSandbox) -> None:
    sandbox.state.emulator(AllMySmsEmulator).events.settings.receipt_delay = 0.1
    sent = json.loads(
        run("send", "--to", "0612340001", "--dsn", sandbox.dsn(), "--json", "Reply?").stdout
    )
    message_id = sent["recipients"][0]["id"]
    httpx.post(
        f"{sandbox.url}/sandbox/allmysms/replies", json={"from": "33612340001", "text": "Sure"}
    )
    applied, replies = 0, 0
    deadline = time.monotonic() + 10  # the sandbox's receipt comes after its delay
    while applied == 0 and time.monotonic() < deadline:
        synced = json.loads(run("sync", "--dsn", sandbox.dsn(), "--json").stdout)
        applied, replies = applied + synced["applied"], replies + synced["replies"]
    assert applied >= 1 and replies == 1
    assert json.loads(run("show", message_id, "--json").stdout)["status"] == "delivered"
    replies = json.loads(run("replies", "--json").stdout)["items"]
    assert any(r["message_id"] == message_id and r["text"] == "Sure" for r in replies)


def test_serve_needs_api_keys() -> None:
    done = run("serve")
    assert done.returncode == 2 and "SMSGATE_API_KEYS" in done.stderr


def test_a_broken_database_url_is_a_clear_error() -> None:
    done = run(
        "send",
        "--to",
        "0612345678",
        "Hi",
        env={"SMSGATE_DATABASE_URL": "postgresql://postgres:hunter2@127.0.0.1:1/x"},
    )
    assert done.returncode == 2 and "cannot open the message store" in done.stderr
    assert "hunter2" not in done.stderr


def test_what_goes_wrong_around_a_command_is_one_line_with_what_to_do(
    sandbox: BackgroundSandbox, tmp_path: Path
) -> None:
    # An unwritable data directory.
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    done = run("messages", env={"SMSGATE_DATA_DIR": str(blocker / "sub")})
    assert done.returncode == 2 and done.stderr.startswith("error: cannot create the data dir")
    assert "SMSGATE_DATA_DIR" in done.stderr and "Traceback" not in done.stderr
    # A binary @file.
    binary = tmp_path / "numbers.bin"
    binary.write_bytes(b"\xff\xfe\x00\x81garbage")
    done = run("send", "--to", f"@{binary}", "Hi")
    assert done.returncode == 2 and "is not UTF-8 text" in done.stderr
    # An argument the locale could not decode.
    raw = subprocess.run(
        [*SMSGATE, "send", "--to", "0612345678", b"caf\xe9".decode("utf-8", "surrogateescape")],
        capture_output=True,
        env={**os.environ, "LC_ALL": "C.UTF-8", "SMSGATE_DATA_DIR": str(DATA_DIR)},
        timeout=60,
        check=False,
    )
    assert raw.returncode == 2 and b"argument 4 is not UTF-8 text" in raw.stderr
    # A port already in use.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        done = run("sandbox", "--port", port)
    assert done.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert done.stderr.count("\n") == 1
    # A text too long for the provider names those whose limit it fits.
    done = run("send", "--dsn", sandbox.dsn(), "--to", "0612345678", "--no-truncate", "x" * 700)
    assert done.returncode == 2
    assert "allmysms takes up to 640 characters, smsworks takes up to 1280, " in done.stderr
    assert "messangi takes up to 1600 characters" in done.stderr


def test_info_against_a_host_that_is_not_the_provider_is_an_error() -> None:
    async def not_allmysms(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b'{"hello": "world"}'})

    with BackgroundApp(not_allmysms) as other:
        done = run("info", "--dsn", f"allmysms+http://demo:demo@{other.host}:{other.port}")
    assert done.returncode == 1
    assert "does not look like AllMySMS; check the DSN host" in done.stderr


def test_a_big_refused_send_says_why_on_the_terminal(sandbox: BackgroundSandbox) -> None:
    poor = add_account(sandbox, "poor", "k", 30)
    numbers = ",".join(f"+336{n:08d}" for n in range(60))
    done = run("send", "--to", numbers, "--dsn", poor, "Hi")
    assert done.returncode == 1
    assert "60 x not enough AllMySMS credit for this send (104" in done.stdout


def test_the_cli_behaves_as_people_expect() -> None:
    from importlib.metadata import version

    done = run("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"smsgate {version('smsgate')}"
    helped = run("send", "--help", env={"COLUMNS": "120"})
    assert "--json" in helped.stdout and "<bool>" not in helped.stdout  # flags as flags
    completion = subprocess.run(
        [*SMSGATE],
        capture_output=True,
        text=True,
        env={**os.environ, "_SMSGATE_COMPLETE": "complete_bash", "COMP_WORDS": "smsgate se"}
        | {"COMP_CWORD": "1"},
        timeout=60,
        check=False,
    )
    assert {"send", "segments", "settings"} <= set(completion.stdout.split())
    text = ["send", "--to", "0612345678", "Hi {name}"]
    coloured = run(*text, env={"FORCE_COLOR": "1"})
    assert "\x1b[33mwarning: " in coloured.stderr and "\x1b[32msent" in coloured.stdout
    plain = run(*text, env={"FORCE_COLOR": "1", "NO_COLOR": "1"})
    assert "\x1b[33m" not in plain.stderr and "\x1b[32m" not in plain.stdout


def test_a_sandbox_send_of_one_short_sms_loads_only_what_it_uses(tmp_path: Path) -> None:
    """Start-up time is a feature: a one-part ``sandbox://`` send loads neither the emulators
    it does not reach, nor httpx's own command line (click, pygments), nor pydantic (Typer
    0.29 would import it to check parameters: pyproject keeps Typer below it), nor what only
    a big send (the progress bar), a long text (grapheme clusters), a route table (TOML) or
    an XML body needs."""
    loaded = modules_a_send_loads(tmp_path)
    assert "smsgate.sandbox.allmysms" in loaded
    unwanted = {
        "smsgate.sandbox.messangi",
        "smsgate.sandbox.smsworks",
        "click",
        "pygments",
        "pydantic",
        "rich.progress",
        "regex",
        "tomllib",
        "xml.etree.ElementTree",
    }
    assert loaded & unwanted == set()
