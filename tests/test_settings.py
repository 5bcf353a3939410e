"""One settings module: the README's table, ``smsgate settings`` and the checks agree with it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from smsgate import settings
from smsgate.cli import main

README = Path(__file__).parents[1] / "README.md"


def test_the_readme_table_lists_every_variable_as_the_settings_module_does() -> None:
    rows = re.findall(r"^\| `(SMSGATE_[A-Z_]+)` \| (.*?) \| (.*) \|$", README.read_text(), re.M)
    assert [name for name, _, _ in rows] == [v.name for v in settings.VARIABLES]
    for (_, default, meaning), variable in zip(rows, settings.VARIABLES, strict=True):
        assert default == (f"`{variable.default}`" if variable.default else "—")
        assert meaning == variable.meaning


def test_a_blank_variable_means_its_default() -> None:
    assert settings.DSN.read({"SMSGATE_DSN": "  "}) == "sandbox://"
    assert settings.DEFAULT_REGION.read({}) == "FR"
    assert settings.split_list(" a, ,b ") == ("a", "b")


def test_settings_shows_values_hides_secrets_and_refuses_what_is_unusable(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SMSGATE_DSN", "allmysms://login:ZZSECRETZZ@default")
    monkeypatch.setenv("SMSGATE_DEFAULT_REGION", "BE")
    assert main(["settings", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["SMSGATE_DSN"]["value"] == "(set, hidden)"
    assert shown["SMSGATE_DEFAULT_REGION"] == {
        "value": "BE",
        "default": "FR",
        "set": True,
        "problem": None,
    }
    monkeypatch.setenv("SMSGATE_DEFAULT_REGION", "XX")
    monkeypatch.setenv("SMSGATE_ALLMYSMS_URL", "ftp://nowhere")
    monkeypatch.setenv("SMSGATE_TRIAL_DSN", "ZZSECRETZZ")
    assert main(["settings"]) == 2
    captured = capsys.readouterr()
    assert "SMSGATE_DEFAULT_REGION: unknown default region 'XX'" in captured.err
    assert "SMSGATE_ALLMYSMS_URL" in captured.err
    assert "SMSGATE_TRIAL_DSN" in captured.err
    assert "ZZSECRETZZ" not in captured.out + captured.err
