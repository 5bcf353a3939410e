"""PostgreSQL's bulk statements: a batch's rows as one array per column (``unnest``), each
typed by its column in the schema, sent through psycopg in binary.

One parameter set per row cost a queued send's worker more than its requests (one statement
a row, each a round of the pipeline); one statement per batch, whose text is the same for
every batch of a kind, is prepared once by psycopg. Only PostgreSQL stores load this module
(it needs SQLAlchemy's schema to type the arrays).
"""

from __future__ import annotations

import functools
from typing import Any, Final

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql

from smsgate.store.schema import Base

_POSTGRESQL: Final = postgresql.dialect()  # type: ignore[no-untyped-call]


def table_named(name: str) -> Table:
    return Base.metadata.tables[name]


def parameter(table: Table, column: str, array: bool = False) -> str:
    """A binary parameter of one column's type (or an array of them)."""
    return f"%b::{table.c[column].type.compile(_POSTGRESQL)}{'[]' if array else ''}"


@functools.cache
def unnest_statement(
    table: Table, columns: tuple[str, ...], same: tuple[bool, ...], where: str | None
) -> tuple[str, list[int]]:
    """write_unnested's statement, and the order of its parameters (column indexes): one
    array per column that differs from row to row, one value for each that is ``same`` in
    every row, each typed by its column, so its text is the same for every batch of a kind
    (psycopg prepares it once)."""
    varying = [i for i, one in enumerate(same) if not one]
    arrays = ", ".join(parameter(table, columns[i], array=True) for i in varying)
    unnested = f"unnest({arrays}) AS v({', '.join(columns[i] for i in varying)})"

    def value(i: int) -> str:
        return parameter(table, columns[i]) if same[i] else f"v.{columns[i]}"

    # Built from our own table's column names and types only; every value is a parameter.
    if where is None:
        chosen = ", ".join(value(i) for i in range(len(columns)))
        constants = [i for i, one in enumerate(same) if one]
        return (
            f"INSERT INTO {table.name} ({', '.join(columns)})"  # noqa: S608
            f" SELECT {chosen} FROM {unnested}",
            constants + varying,
        )
    updated = range(len(columns) - 1)
    assignments = ", ".join(f"{columns[i]} = {value(i)}" for i in updated)
    # The keys twice: the join alone lets PostgreSQL choose a scan of the whole table when
    # its statistics lag behind a big send's rows; "= ANY" holds it to the index.
    key = len(columns) - 1
    return (
        f"UPDATE {table.name} SET {assignments} FROM {unnested}"  # noqa: S608
        f" WHERE {table.name}.{where} = v.{where}"
        f" AND {table.name}.{where} = ANY({parameter(table, where, array=True)})",
        [i for i in updated if same[i]] + varying + [key],
    )


def write_unnested(
    driver: Any,
    name: str,
    columns: list[str],
    values: list[list[Any]],
    same: tuple[bool, ...],
    where: str | None,
) -> None:
    """recorder._write_columns on PostgreSQL: ``values`` holds one list per column (the key,
    for an UPDATE, last); a column that is the ``same`` in every row holds its one value."""
    # A batch's rows share most values (its status, time, campaign): those go once, as one
    # value, and only what differs goes as an array.
    statement, order = unnest_statement(table_named(name), tuple(columns), same, where)
    params = [values[i][0] if same[i] else values[i] for i in order]
    driver.execute(statement, params, binary=True)
