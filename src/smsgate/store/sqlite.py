"""SQLite's bulk statements: a batch's rows as one JSON document (``json_each``), and the
values every row shares as plain parameters, once.

sqlite3's ``executemany`` binds every value of every row from Python: for a send's write-ahead
(26 columns a row) that was most of the store's cost, 9.7 µs a row against 3.6 µs when SQLite
reads the two values that differ (the id and the number) out of one JSON text itself. The
same shape as PostgreSQL's ``unnest`` (store.postgres), with JSON for the arrays.

It needs SQLite 3.38 (JSON built in; ``UPDATE ... FROM`` came in 3.33). With an older SQLite,
or values that JSON does not carry exactly (bytes, a float, an integer past 64 bits, a NUL
character), :func:`json_statement` answers None and the caller binds row by row.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any, Final

JSON_ROWS: Final = sqlite3.sqlite_version_info >= (3, 38)
"""Whether this SQLite reads rows out of JSON (``json_each``, ``->>``) and updates FROM."""

_SAME_KINDS: Final = frozenset({str, int, bool, float, type(None)})
"""Types a shared value may have: it goes as a parameter, bound as executemany binds it."""
_ROW_KINDS: Final = frozenset({str, int, bool, type(None)})
"""Types JSON carries exactly from row to row (a float's text might not parse back to the
very same double in every SQLite version)."""
_INT64: Final = 2**63


def json_statement(
    table: str,
    columns: Sequence[str],
    values: Sequence[list[Any]],
    same: Sequence[bool],
    where: str | None,
) -> tuple[str, list[Any]] | None:
    """One INSERT (or, with ``where``, one UPDATE of the rows whose ``where`` column matches)
    for all rows, and its parameters; ``values`` holds one list per column (the key, for an
    UPDATE, last), and a column the ``same`` in every row its one value. None when JSON
    cannot carry the values exactly."""
    if not JSON_ROWS:
        return None
    for column, one in zip(values, same, strict=True):
        kinds = set(map(type, column))
        if not kinds <= (_SAME_KINDS if one else _ROW_KINDS):
            return None
        if (
            not one
            and int in kinds
            and not all(-_INT64 <= v < _INT64 for v in column if type(v) is int)
        ):
            return None
    varying = [i for i, one in enumerate(same) if not one]
    document = json.dumps(list(zip(*(values[i] for i in varying), strict=True)), ensure_ascii=False)
    if "\\u0000" in document:  # SQLite's JSON text functions stop at a NUL
        return None
    position = {i: n for n, i in enumerate(varying)}
    params: list[Any] = []

    def value(i: int) -> str:
        if same[i]:
            params.append(values[i][0])
            return "?"
        return f"j.value ->> {position[i]}"

    # Built from our own table's column names only; every value is a parameter.
    if where is None:
        chosen = ", ".join(value(i) for i in range(len(columns)))
        statement = (
            f"INSERT INTO {table} ({', '.join(columns)})"  # noqa: S608
            f" SELECT {chosen} FROM json_each(?) AS j"
        )
    else:
        assignments = ", ".join(f"{columns[i]} = {value(i)}" for i in range(len(columns) - 1))
        statement = (
            f"UPDATE {table} SET {assignments} FROM json_each(?) AS j"  # noqa: S608
            f" WHERE {table}.{where} = j.value ->> {position[len(columns) - 1]}"
        )
    return statement, [*params, document]
