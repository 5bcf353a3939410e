"""The house keeps its shape: the import rules of docs/architecture.md, read from the code.

Every ``import`` of every module counts, the lazy ones inside functions and the ones under
``TYPE_CHECKING`` too, so a rule cannot be dodged by moving an import into a function. And the
public names of ``smsgate`` are pinned, as httpx's ``test_exported_members.py`` does: a name
that goes or comes is a decision, not an accident.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import Final

import pytest

import smsgate
import smsgate.gateway

PACKAGE: Final = Path(smsgate.__file__).parent

# Each room and the rooms of ours it may import (besides itself).
ALLOWED: Final[dict[str, set[str]]] = {
    "core": set(),
    "settings": {"core"},
    "shapes": set(),
    "providers": {"core"},
    "sandbox": {"core"},
    "sailor": {"core"},
    "gateway": {"core", "settings", "providers"},
    "store": {"core", "settings"},
    "usecases": {"core", "gateway", "store"},
    "queue": {"core", "gateway", "store", "usecases"},
    "service": {"core", "settings", "shapes", "gateway", "store", "usecases", "queue"},
    "elasticio": {"core", "settings", "gateway", "sailor", "store"},
    "cli": {
        "core",
        "settings",
        "shapes",
        "gateway",
        "store",
        "usecases",
        "queue",
        "service",
        "sandbox",
    },
    "__init__": {"core", "gateway"},
}
"""core imports nothing of ours; providers only core; the sandbox only core (it shares nothing
with the clients it stands in for); the store never the gateway; the faces (cli, service,
elasticio) never providers directly; the sailor runtime knows nothing about SMS."""


def _room(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def _imports(path: Path) -> set[str]:
    """The rooms of ours a module imports (``smsgate.X...`` -> X)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
            if node.module == "smsgate":
                names = [f"smsgate.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "smsgate" and len(parts) > 1:
                found.add(parts[1])
    return found


MODULES: Final = sorted(
    p for p in PACKAGE.rglob("*.py") if "migrations" not in p.parts or p.name == "env.py"
)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_module_imports_only_the_rooms_above_it(path: Path) -> None:
    room = _room(path)
    assert room in ALLOWED, f"{room} is a new room: give it its rules here and in the docs"
    wrong = _imports(path) - ALLOWED[room] - {room}
    assert not wrong, f"{path.relative_to(PACKAGE)} ({room}) imports {sorted(wrong)}"


def test_the_sailor_runtime_knows_nothing_about_sms() -> None:
    """Only the generic secret wrapper of the core, nothing of SMS."""
    for path in (PACKAGE / "sailor").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("smsgate.core"):
                assert node.module == "smsgate.core.secret", path


def test_the_core_never_reads_the_environment() -> None:
    for path in (PACKAGE / "core").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "os.environ" not in text and "getenv" not in text, path
        assert "SMSGATE_" not in text, path


def test_only_the_settings_module_names_smsgate_variables() -> None:
    """Every SMSGATE_* variable is declared once, in smsgate.settings."""
    for path in MODULES:
        if path.name == "settings.py" and path.parent == PACKAGE:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not node.value.startswith("SMSGATE_"), (path, node.value)


EXPORTED: Final = {
    "smsgate": [
        "AccountInfo",
        "AsyncGateway",
        "ConfigurationError",
        "Gateway",
        "InvalidInput",
        "NoRecipients",
        "ProviderError",
        "RecipientResult",
        "RecipientStatus",
        "RetryPolicy",
        "SendReport",
        "SendStatus",
        "SmsgateError",
    ],
    "smsgate.gateway": [
        "AsyncGateway",
        "Endpoint",
        "Gateway",
        "Halt",
        "Progress",
        "RetryPolicy",
        "SendOptions",
        "SendRecorder",
        "plain_endpoint",
        "resolve_endpoint",
    ],
}


@pytest.mark.parametrize("module", sorted(EXPORTED))
def test_exported_members(module: str) -> None:
    loaded = importlib.import_module(module)
    assert sorted(loaded.__all__) == EXPORTED[module]
    for name in loaded.__all__:
        member = getattr(loaded, name)
        assert member is not None
        if isinstance(member, type):  # defined in our package, named as exported
            assert member.__module__.startswith("smsgate."), name


def test_the_gateway_package_only_re_exports() -> None:
    tree = ast.parse((PACKAGE / "gateway" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        assert isinstance(node, ast.ImportFrom | ast.Assign | ast.Expr), ast.dump(node)[:60]
    assert smsgate.gateway.Gateway.__module__ == "smsgate.gateway.client"
