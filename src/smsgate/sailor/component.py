"""component.json (spec §2) and the Python functions it names.

The platform reads component.json at the repository root. ``main`` of an action and
``verifier`` of the credentials name Python modules (as Java components name classes); the
module of an action exports ``process``, the verifier's exports ``verify``.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from smsgate.sailor.context import ProcessFunction
from smsgate.sailor.errors import ConfigurationError

FILE_NAME: Final = "component.json"
# The checkout's root, for running from a clone; the image sets ELASTICIO_COMPONENT_PATH.
CHECKOUT_ROOT: Final = Path(__file__).resolve().parents[3]

Verifier = Callable[[dict[str, Any]], Coroutine[Any, Any, Any]]


def find_component_json(component_path: str = "") -> Path:
    candidates = [Path(component_path)] if component_path else [Path.cwd(), CHECKOUT_ROOT]
    for folder in candidates:
        if (folder / FILE_NAME).is_file():
            return folder / FILE_NAME
    where = " or ".join(str(folder) for folder in candidates)
    raise ConfigurationError(
        f"no {FILE_NAME} in {where}: set ELASTICIO_COMPONENT_PATH to the component's folder"
    )


@dataclass(frozen=True)
class Component:
    descriptor: dict[str, Any]

    @classmethod
    def load(cls, component_path: str = "") -> Component:
        path = find_component_json(component_path)
        try:
            descriptor = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise ConfigurationError(f"{path} is not readable JSON ({error}): fix it") from None
        return cls(descriptor)

    def functions(self) -> dict[str, dict[str, Any]]:
        functions: dict[str, dict[str, Any]] = {}
        functions.update(self.descriptor.get("triggers") or {})
        functions.update(self.descriptor.get("actions") or {})
        return functions

    def _module(self, name: str, what: str) -> ModuleType:
        try:
            return importlib.import_module(name)
        except ImportError as error:
            raise ConfigurationError(
                f"{FILE_NAME} names {what} module {name!r}, which does not import ({error})"
            ) from None

    def process_function(self, function: str) -> ProcessFunction:
        """The ``process`` of the action or trigger ELASTICIO_FUNCTION names."""
        definition = self.functions().get(function)
        if definition is None:
            known = ", ".join(sorted(self.functions())) or "none"
            raise ConfigurationError(
                f"{FILE_NAME} has no action or trigger {function!r} (it has: {known}): "
                "check ELASTICIO_FUNCTION"
            )
        module = self._module(str(definition["main"]), f"{function}'s main")
        process: ProcessFunction = module.process
        return process

    def verifier(self) -> Verifier:
        name = (self.descriptor.get("credentials") or {}).get("verifier")
        if not name:
            raise ConfigurationError(f"{FILE_NAME} names no credentials verifier")
        verify: Verifier = self._module(str(name), "the verifier").verify
        return verify
