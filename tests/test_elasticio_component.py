"""component.json and the code that reads it stay consistent; the sailor's pure rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smsgate import settings
from smsgate.core.errors import ConfigurationError, InvalidInput, ProviderError
from smsgate.core.report import RecipientResult, RecipientStatus, SendReport
from smsgate.core.text import Encoding
from smsgate.elasticio.actions import send
from smsgate.elasticio.credentials import (
    API_KEY_FIELD,
    ENDPOINT_VARIABLE,
    LOGIN_FIELD,
    allmysms_dsn,
)
from smsgate.sailor.component import CHECKOUT_ROOT, Component
from smsgate.sailor.errors import ConfigurationError as SetupError
from smsgate.sailor.settings import SailorSettings
from smsgate.sailor.wire import (
    base_headers,
    error_object,
    message_shape,
    pop_routing_key,
    protocol_version,
    rebound_iteration,
)
from tests.elasticio_platform import Step

DESCRIPTOR = json.loads((CHECKOUT_ROOT / "component.json").read_text())
SEND = DESCRIPTOR["actions"]["send"]


def _report() -> SendReport:
    return SendReport("allmysms", False, False, "hi", False, Encoding.GSM7, 1)


def test_component_json_is_the_platforms_shape() -> None:
    assert DESCRIPTOR["buildType"] == "docker"
    assert DESCRIPTOR["title"]
    assert DESCRIPTOR["description"]
    fields = DESCRIPTOR["credentials"]["fields"]
    assert fields[LOGIN_FIELD]["viewClass"] == "TextFieldView"
    assert fields[API_KEY_FIELD]["viewClass"] == "PasswordFieldView"
    assert not any(field.get("required") for field in fields.values())  # blank = trial
    for properties in (SEND["metadata"]["in"]["properties"], SEND["metadata"]["out"]["properties"]):
        for prop in properties.values():  # draft-3 style: a type and a title each
            assert prop["type"]
            assert prop["title"]


def test_the_send_actions_fields_are_the_ones_the_action_reads() -> None:
    inputs = SEND["metadata"]["in"]["properties"]
    assert tuple(inputs) == send.FIELDS
    assert {name for name, prop in inputs.items() if prop.get("required")} == {"nums", "message"}
    labels = {name: prop["title"] for name, prop in inputs.items()}
    assert labels["nums"] == "Mobile numbers"
    assert labels["sender"] == "Sender Name"
    assert labels["message"] == "Message Text"
    assert "2000" in inputs["nums"]["note"]
    assert "160" in inputs["message"]["note"]


def test_the_out_metadata_describes_the_report() -> None:
    report = _report()
    report.recipients.append(RecipientResult("33612345678", RecipientStatus.SENT, "m1", None, "x"))
    out = SEND["metadata"]["out"]["properties"]
    assert set(out) == set(report.to_dict())
    recipient = out["recipients"]["items"]["properties"]
    assert set(recipient) == set(report.recipients[0].to_dict())


def test_the_functions_component_json_names_exist() -> None:
    component = Component.load(str(CHECKOUT_ROOT))
    assert component.process_function("send") is send.process
    assert component.verifier().__module__ == "smsgate.elasticio.verify"
    with pytest.raises(SetupError, match="no action or trigger 'nope'"):
        component.process_function("nope")


def test_the_environment_variables_component_json_declares_are_the_ones_read() -> None:
    assert set(DESCRIPTOR["envVars"]) == {
        settings.TRIAL_DSN.name,
        ENDPOINT_VARIABLE,
        settings.DEFAULT_REGION.name,
    }


def test_the_dockerfile_installs_and_starts_the_sailor() -> None:
    dockerfile = (CHECKOUT_ROOT / "Dockerfile").read_text()
    assert "component.json" in dockerfile
    assert '"smsgate.elasticio.run"' in dockerfile
    assert "ELASTICIO_COMPONENT_PATH" in dockerfile


# -- credentials and the action's judgement --------------------------------------------------


def test_credentials_become_a_dsn_without_showing_the_key() -> None:
    cfg = {"login": "me@x.fr", "apiKey": "k/y"}
    assert allmysms_dsn(cfg, {}) == "allmysms://me%40x.fr:k%2Fy@default"
    local = {ENDPOINT_VARIABLE: "http://127.0.0.1:8025"}
    assert allmysms_dsn(cfg, local) == "allmysms+http://me%40x.fr:k%2Fy@127.0.0.1:8025"
    with pytest.raises(ConfigurationError, match=ENDPOINT_VARIABLE) as caught:
        allmysms_dsn(cfg, {ENDPOINT_VARIABLE: "ftp://x"})
    assert "k/y" not in str(caught.value)


def _judge(*statuses: RecipientStatus) -> str | None:
    report = _report()
    for n, status in enumerate(statuses):
        report.recipients.append(RecipientResult(f"3361234567{n}", status, error=f"e{n}"))
    return send.judge(report)


def test_judge_sends_data_when_anything_was_accepted() -> None:
    assert _judge(RecipientStatus.SENT) is None
    assert _judge(RecipientStatus.SENT, RecipientStatus.REJECTED) is None
    assert _judge(RecipientStatus.SCHEDULED, RecipientStatus.FAILED) is None


def test_judge_rebounds_only_what_provably_never_left() -> None:
    assert _judge(RecipientStatus.FAILED, RecipientStatus.FAILED) == "e0"
    with pytest.raises(send.MaybeSentError):
        _judge(RecipientStatus.FAILED, RecipientStatus.UNKNOWN)
    with pytest.raises(send.MaybeSentError):
        _judge(RecipientStatus.SENT, RecipientStatus.UNKNOWN)
    with pytest.raises(ProviderError, match="refused"):
        _judge(RecipientStatus.REJECTED, RecipientStatus.FAILED)


def test_send_options_read_the_optional_fields() -> None:
    options = send.send_options(
        {"scheduledAt": "2026-12-01T09:00+01:00", "campaignName": "Noël", "strictNumbers": "true"}
    )
    assert options["scheduled_at"] is not None
    assert options["scheduled_at"].isoformat() == "2026-12-01T09:00:00+01:00"
    assert options["campaign_name"] == "Noël"
    assert options["strict"] is True
    with pytest.raises(InvalidInput, match="scheduledAt"):
        send.send_options({"scheduledAt": "tomorrow"})
    with pytest.raises(InvalidInput, match="sender must be text"):
        send.send_options({"sender": {"a": 1}})


# -- settings and wire rules -----------------------------------------------------------------


def test_settings_defaults_are_the_node_sailors() -> None:
    env = Step("http://127.0.0.1:9").env()
    del env["ELASTICIO_REBOUND_INITIAL_EXPIRATION"], env["ELASTICIO_DATA_RATE_LIMIT"]
    settings = SailorSettings.from_env(env)
    assert settings.rebound_initial_expiration_ms == 15000
    assert settings.rebound_limit == 20
    assert settings.prefetch == 1
    assert settings.protocol_version == 1
    assert (settings.rates.data, settings.rates.error, settings.rates.interval_ms) == (10, 2, 100)
    assert "local-crypto-password" not in repr(settings)
    assert "guest:guest" not in repr(settings)


def test_settings_parse_numbers_and_booleans_as_the_node_sailor_does() -> None:
    env = Step("http://127.0.0.1:9").env(
        ELASTICIO_RABBITMQ_PREFETCH_SAILOR="ten",
        ELASTICIO_AMQP_PERSISTENT_MESSAGES="",
        ELASTICIO_NO_ERROR_REPLIES="yes",
        ELASTICIO_ADDITIONAL_VARS_FOR_HEADERS="ELASTICIO_TENANT_ID, ELASTICIO_FLOW_VERSION",
        ELASTICIO_TENANT_ID="t-1",
        ELASTICIO_FLOW_VERSION="7",
    )
    settings = SailorSettings.from_env(env)
    assert settings.prefetch == 1
    assert settings.persistent_messages is False
    assert settings.no_error_replies is True
    assert settings.additional_headers == {"tenantId": "t-1", "flowVersion": "7"}


def test_every_missing_variable_is_named_in_one_line() -> None:
    env = Step("http://127.0.0.1:9").env()
    del env["ELASTICIO_FLOW_ID"], env["ELASTICIO_MESSAGE_CRYPTO_IV"]
    with pytest.raises(SetupError) as caught:
        SailorSettings.from_env(env)
    assert "ELASTICIO_FLOW_ID, ELASTICIO_MESSAGE_CRYPTO_IV are missing" in str(caught.value)
    # The shutdown hook needs no broker.
    shutdown = {k: v for k, v in env.items() if "AMQP" not in k} | {
        "ELASTICIO_FLOW_ID": "f",
        "ELASTICIO_HOOK_SHUTDOWN": "true",
    }
    assert SailorSettings.from_env(shutdown).hook_shutdown is True


header_values = st.one_of(st.none(), st.integers(), st.text(max_size=5), st.booleans())


@given(header_values)
def test_rebound_iteration_and_protocol_version_parse_any_header(value: Any) -> None:
    iteration = rebound_iteration({"reboundIteration": value})
    assert iteration >= 1 or isinstance(value, int)
    assert rebound_iteration({}) == 1
    assert isinstance(protocol_version({"protocolVersion": value}), int)
    assert protocol_version({}) == 1


@given(st.dictionaries(st.text(max_size=12), st.text(max_size=5), max_size=6))
def test_only_meta_headers_and_reply_to_are_passed_on(incoming: dict[str, str]) -> None:
    settings = SailorSettings.from_env(Step("http://127.0.0.1:9").env())
    headers = base_headers(settings, incoming, 1)
    for name in incoming:
        if name.lower().startswith("x-eio-meta-"):
            assert name.lower() in headers
    assert headers["stepId"] == "step_1"
    assert headers["threadId"]


def test_message_shape_and_routing_key() -> None:
    shaped = message_shape({"body": {"a": 1}, "headers": {"X-Eio-Routing-Key": "elsewhere"}})
    assert set(shaped) == {"id", "attachments", "body", "headers", "metadata"}
    assert pop_routing_key(shaped) == "elsewhere"
    assert shaped["headers"] == {}
    assert message_shape("text")["body"] == "text"


def test_error_objects() -> None:
    assert error_object("nope") == {"name": "Error", "message": "nope", "stack": "Not Available"}
    ours = error_object(InvalidInput("sender is bad: fix it"))
    assert ours["stack"] == "InvalidInput: sender is bad: fix it"


def test_find_component_json_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(SetupError, match="ELASTICIO_COMPONENT_PATH"):
        Component.load(str(tmp_path))
