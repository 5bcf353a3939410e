"""Personalised texts: one template, a value per recipient for each of its placeholders.

The template names CSV columns: ``Hi {name}, your code is {code}``; ``{{`` and ``}}`` are literal
braces. Each provider writes the placeholders its own way (AllMySMS ``#param_1#``, Messangi
``{0}``) or receives every text written out (The SMS Works ``/batch/any``); the pieces here are
what they all start from.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from smsgate.core.errors import InvalidText

_TOKEN: Final = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
TO_COLUMN: Final = "to"


@dataclass(frozen=True)
class Template:
    pieces: tuple[str | int, ...]
    """Literal text, or the index of a column in ``columns``."""
    columns: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Template:
        pieces: list[str | int] = []
        columns: list[str] = []
        literal: list[str] = []
        position = 0
        for match in _TOKEN.finditer(text):
            literal.append(text[position : match.start()])
            position = match.end()
            token = match.group(0)
            if token in ("{{", "}}"):
                literal.append(token[0])
                continue
            name = match.group(1)
            if name is None or not name.strip():
                raise InvalidText(
                    f"the template has a lone or empty brace at character {match.start() + 1}: "
                    "name a column as {name}, or write {{ and }} for braces"
                )
            name = name.strip()
            if name not in columns:
                columns.append(name)
            pieces.append("".join(literal))
            literal = []
            pieces.append(columns.index(name))
        literal.append(text[position:])
        pieces.append("".join(literal))
        return cls(tuple(p for p in pieces if p != ""), tuple(columns))

    @property
    def personal(self) -> bool:
        return bool(self.columns)

    def prefixed(self, prefix: str) -> Template:
        return Template((prefix, *self.pieces), self.columns)

    def render(self, values: Sequence[str]) -> str:
        return "".join(p if isinstance(p, str) else values[p] for p in self.pieces)

    def written(self, placeholder: Callable[[int], str]) -> str:
        """The template in a provider's syntax, ``placeholder(index)`` for each column."""
        return "".join(p if isinstance(p, str) else placeholder(p) for p in self.pieces)

    def values_of(self, row: Mapping[str, str]) -> tuple[str, ...]:
        return tuple(row.get(column, "") for column in self.columns)

    def check_columns(self, header: Sequence[str]) -> None:
        """Every placeholder must name a column, and the recipients need a 'to' column."""
        if TO_COLUMN not in header:
            raise InvalidText(
                f"the CSV has no '{TO_COLUMN}' column (it has: {', '.join(header) or 'none'}): "
                "name the column of phone numbers 'to'"
            )
        missing = [c for c in self.columns if c not in header]
        if missing:
            raise InvalidText(
                f"the template names {', '.join(repr(c) for c in missing)}, which the CSV does "
                f"not have (it has: {', '.join(header)}): fix the template or the CSV header"
            )
