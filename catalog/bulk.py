"""The store's hot paths: set-based writes (rows as plain tuples, one statement per batch) and
reads as plain rows.

The ORM (and even Core's per-row dict processing) was most of a 100k-record onboard's store
time (issue 16): every change row went through SQLAlchemy's parameter machinery and every JSON
value was encoded on the way. Here a batch's rows are tuples in a fixed column order, each JSON
value is encoded once (`catalog.db.dumps_json`; one object that appears in several cells, such
as a new record's source values and current values, once for all of them), and the batch goes
to the database in one go:

- SQLite: one ``executemany`` of one statement (the driver loops in C);
- PostgreSQL: ``COPY`` into a temporary table (psycopg's ``cursor.copy``), then one
  ``INSERT … SELECT … ON CONFLICT`` or ``UPDATE … FROM`` that joins it.

Conflict handling is the database's, in the same statement as the write: a change that is
already recorded (same record, field, operation and basis) is left as it is, so a re-run or a
resumed run still records each change once.

Reads on the hot paths (a stage's batch of records, the catalogue streamed to validation and to
the destinations) go through `plain_rows`: SQLAlchemy Core on the session's connection, rows as
tuples, without the ORM's result machinery (which a ``session.execute`` of the same select
runs even for plain columns).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
from sqlalchemy import JSON, ColumnElement, DateTime, Select, Table, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection, CursorResult
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from catalog.db import JSON_OPTIONS, dumps_json

Row = tuple[Any, ...]

log = logging.getLogger(__name__)

ORDINAL = "_bulk_position"
"""A staged row's position in its batch (PostgreSQL): a scan of the staged table need not
return rows in the order they were copied, and an insert takes its ids in scan order."""


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


LOCK_NOT_AVAILABLE = "55P03"

PLANNED_TABLES = ("records", "changes", "stage_marks")
"""The tables a stage's batches query by record and by page: what bulk writes grow fastest."""


def refresh_statistics(session: Session, tables: Sequence[str] = PLANNED_TABLES) -> None:
    """Bring PostgreSQL's planner statistics up to date for ``tables`` (``ANALYZE``, which
    samples at most 30,000 rows a table: under a second at millions of rows).

    A run writes a table from empty to millions of rows in minutes; autovacuum analyses it
    a minute or more later, if it is on at all. Until then the planner plans with the
    statistics of a small table: at a million records each keyset page of the catalogue
    became a bitmap scan of every later record and a sort of it on disk (1.4 s a page).
    SQLite has no such statistics to go stale.

    It runs in a transaction of its own, so the lock ``ANALYZE`` takes (one that only another
    ``ANALYZE`` or a ``VACUUM`` waits for) is not held for the caller's whole transaction:
    a dedupe of a million records would otherwise hold it for minutes and stall every other
    run's planning. It sees what is committed, which is what the stages before wrote. If the
    lock is not free within two seconds (an autovacuum of the table), the statistics are left
    as they are: stale statistics make a run slower, and waiting would make it slower still.
    A role that may not analyse a table gets a warning from PostgreSQL, not an error."""
    if not is_postgres(session):
        return
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            connection.exec_driver_sql(f"ANALYZE {', '.join(tables)}")
    except OperationalError as error:
        if getattr(error.orig, "sqlstate", None) != LOCK_NOT_AVAILABLE:
            raise
        log.info("statistics of %s left as they are: %s", ", ".join(tables), error.orig)


def in_ids(session: Session, column: Any, ids: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN ids``, as one array parameter on PostgreSQL (``= ANY(:ids)``: one bound value
    instead of thousands, planned once) and as a plain ``IN`` on SQLite (no arrays there)."""
    if is_postgres(session):
        return column == any_(bindparam(None, list(ids), type_=ARRAY(column.type)))
    return column.in_(list(ids))


def plain_rows(session: Session, query: Select[Any]) -> CursorResult[Any]:
    """Run a select of columns on the session's connection (so in its transaction) and return
    its rows as plain tuples: Core's result, not the ORM's. Pending ORM changes are flushed
    first when the session autoflushes, as ``session.execute`` would, so the read sees them."""
    if session.autoflush:
        session.flush()
    return session.connection().execute(query)


def insert_rows(
    session: Session,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Row],
    *,
    conflict: Sequence[str] | None = None,
    update: Sequence[str] = (),
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table``.

    With ``conflict`` (the columns of a unique constraint), a row whose key is already there is
    skipped (``ON CONFLICT DO NOTHING``) or, when ``update`` names columns, those columns take
    the new row's values (``DO UPDATE``). Without it a duplicate key raises, as a plain insert
    does.
    """
    encoded = _encoded(session, table, columns, rows)
    if not encoded:
        return
    q = _quoter(session)
    names = ", ".join(map(q, columns))
    on_conflict = ""
    if conflict:
        action = (
            "DO UPDATE SET " + ", ".join(f"{q(c)} = excluded.{q(c)}" for c in update)
            if update
            else "DO NOTHING"
        )
        on_conflict = f" ON CONFLICT ({', '.join(map(q, conflict))}) {action}"
    connection = session.connection()
    target = q(table.name)
    if is_postgres(session):
        with _staged(connection, table, columns, encoded) as staged:
            # in the order given, as executemany does: ids follow the rows (records keep
            # their file order, changes their proposal order), whatever order a scan returns
            connection.exec_driver_sql(
                f"INSERT INTO {target} ({names}) SELECT {names} FROM {staged.name} "
                f"ORDER BY {ORDINAL}{on_conflict}"
            )
        return
    marks = ", ".join("?" for _ in columns)
    connection.exec_driver_sql(
        f"INSERT INTO {target} ({names}) VALUES ({marks}){on_conflict}", encoded
    )


def update_rows(
    session: Session,
    table: Table,
    key: str,
    columns: Sequence[str],
    rows: Iterable[Row],
) -> None:
    """Set ``columns`` of the rows of ``table`` whose ``key`` is each tuple's first item (the
    tuple is ``(key, *columns)``): one ``UPDATE … FROM`` a staged table on PostgreSQL, one
    ``executemany`` on SQLite."""
    encoded = _encoded(session, table, (key, *columns), rows)
    if not encoded:
        return
    connection = session.connection()
    q = _quoter(session)
    if is_postgres(session):
        with _staged(connection, table, (key, *columns), encoded) as staged:
            assignments = ", ".join(f"{q(c)} = s.{q(c)}" for c in columns)
            connection.exec_driver_sql(
                f"UPDATE {q(table.name)} AS t SET {assignments} FROM {staged.name} AS s "
                f"WHERE t.{q(key)} = s.{q(key)}"
            )
        return
    assignments = ", ".join(f"{q(c)} = ?" for c in columns)
    connection.exec_driver_sql(
        f"UPDATE {q(table.name)} SET {assignments} WHERE {q(key)} = ?",
        [(*row[1:], row[0]) for row in encoded],
    )


class _Staged:
    """A batch copied into a temporary table on the session's own connection (so in its
    transaction), for one statement that joins it; emptied when done. The statement itself
    goes through SQLAlchemy, so a constraint it breaks raises SQLAlchemy's `IntegrityError` as
    the ORM's writes did."""

    def __init__(self, connection: Connection, table: Table, columns: Sequence[str]) -> None:
        raw = connection.connection.driver_connection
        assert raw is not None, "a checked-out connection has its driver connection"
        self.raw = raw
        self.name = f"_bulk_{table.name}_{abs(hash(tuple(columns))):x}"
        q = connection.dialect.identifier_preparer.quote
        self.source = q(table.name)
        self.names = ", ".join(map(q, columns))

    def __enter__(self) -> _Staged:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.execute(f"TRUNCATE {self.name}")

    def load(self, rows: list[Row]) -> None:
        names = self.names
        # Same column types as the target, none of its constraints or defaults, plus each
        # row's position in the batch; it stays for the connection's next batch (emptied after
        # each use, and rolled back with a failed one).
        self.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {self.name} AS "
            f"SELECT {names}, 0::bigint AS {ORDINAL} FROM {self.source} WITH NO DATA"
        )
        with self.raw.cursor() as cursor:
            with cursor.copy(f"COPY {self.name} ({names}, {ORDINAL}) FROM STDIN") as copy:
                for position, row in enumerate(rows):
                    copy.write_row((*row, position))

    def execute(self, sql: str) -> None:
        with self.raw.cursor() as cursor:
            cursor.execute(sql)


def _quoter(session: Session) -> Callable[[str], str]:
    """Quotes an identifier where the dialect needs it (``values`` is a keyword in SQL)."""
    return session.get_bind().dialect.identifier_preparer.quote


def _staged(
    connection: Connection, table: Table, columns: Sequence[str], rows: list[Row]
) -> _Staged:
    staged = _Staged(connection, table, columns)
    staged.load(rows)
    return staged


def _encoded(
    session: Session, table: Table, columns: Sequence[str], rows: Iterable[Row]
) -> list[Row]:
    """Rows with each JSON cell encoded (`dumps_json`, as the engine's JSON columns do: Python
    None is JSON null) and, on SQLite, each timestamp in the text form SQLAlchemy stores, so ORM
    reads see the same values. A container or timestamp repeated in the batch — a new record's
    source and current values are one dict, every row has the batch's `now` — is converted
    once. The batch is converted a column at a time (one loop per converted column rather than
    per cell of every row), which is what keeps this cheap next to the database's own work."""
    dialect = session.get_bind().dialect
    converters: list[tuple[int, Callable[[Any], Any] | None]] = []  # None: JSON
    for index, name in enumerate(columns):
        column_type = table.c[name].type
        if isinstance(column_type, JSON):
            converters.append((index, None))
        elif isinstance(column_type, DateTime) and dialect.name == "sqlite":
            processor = column_type.dialect_impl(dialect).bind_processor(dialect)
            if processor is not None:
                converters.append((index, processor))
    if not converters:
        return [tuple(row) for row in rows]
    by_column: list[Sequence[Any]] = list(zip(*rows, strict=True))
    if not by_column:
        return []
    # one memo for every column of the batch: a dict in two columns is encoded once; its keys
    # are ids, and what they name stays alive in `by_column` until the batch is converted
    # (and tuples of strings, by content: `_tuple_cell`)
    memo: dict[Any, Any] = {}
    converted = list(by_column)
    for index, convert in converters:
        converted[index] = (
            _json_cells(by_column[index], memo)
            if convert is None
            else _converted_cells(by_column[index], convert, memo)
        )
    return list(zip(*converted, strict=True))


_SCALARS = frozenset((str, int, float, bool))
"""Cell types converted as they come (a type test against a set is several times cheaper per
cell than ``isinstance`` against a union); anything else is converted once per object."""


def _json_cells(values: Sequence[Any], memo: dict[Any, Any]) -> list[Any]:
    """Each value as `dumps_json` encodes it (None as JSON null); a container seen before in
    the batch is not encoded again."""
    out: list[Any] = []
    append = out.append
    dumps = orjson.dumps
    options = JSON_OPTIONS
    for value in values:
        if value is None:
            append("null")
        elif type(value) in _SCALARS:
            try:  # `dumps_json`, inlined: it is this call unless orjson refuses the value
                append(dumps(value, option=options).decode())
            except TypeError:  # an integer past 64 bits
                append(dumps_json(value))
        elif type(value) is tuple:
            append(_tuple_cell(value, memo))
        else:
            found = memo.get(id(value))
            if found is None:
                found = memo[id(value)] = dumps_json(value)
            append(found)
    return out


def _tuple_cell(value: tuple[Any, ...], memo: dict[Any, Any]) -> str:
    """A tuple of strings (a change's sources) encoded once per content in the batch: each
    proposal builds its own, but thousands of them say the same (``("record:title",)``).
    Only strings: ``(1,)``, ``(1.0,)`` and ``(True,)`` are one key to a dict."""
    for item in value:
        if type(item) is not str:
            return dumps_json(value)
    found = memo.get(value)
    if found is None:
        found = memo[value] = dumps_json(value)
    return found


def _converted_cells(
    values: Sequence[Any], convert: Callable[[Any], Any], memo: dict[Any, Any]
) -> list[Any]:
    """Each value through `convert` (None stays None); an object seen before is not converted
    again."""
    out: list[Any] = []
    append = out.append
    for value in values:
        if value is None:
            append(None)
        elif type(value) in _SCALARS:
            append(convert(value))
        else:
            found = memo.get(id(value))
            if found is None:
                found = memo[id(value)] = convert(value)
            append(found)
    return out
