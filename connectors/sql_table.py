"""Write the catalogue into a table of any SQLAlchemy database (SQLite, PostgreSQL).

A downstream system reads this table while skuflow writes it, so everything one `open()` writes
goes into one transaction: readers see the table as it was or as it is after `commit()`, never
half a run. `replace` builds a staging table and swaps it in at commit for the same reason.
Driver errors are sorted here, once, into transient (retry) and terminal (fail fast).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from prefect.blocks.core import Block
from pydantic import Field, PrivateAttr, SecretStr

from catalog.errors import SkuflowError
from catalog.rows import WriteMode, WriteResult
from connectors.base import (
    TerminalConnectorError,
    TransientConnectorError,
    WriterLifecycle,
    block_label,
    check_open_arguments,
    to_text,
)
from connectors.retry import call_with_retries

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine, Table
    from sqlalchemy.types import TypeEngine

TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03", "57014", "53300", "57P03"}
"""Serialization failure, deadlock, lock timeout, statement timeout, too many connections,
server starting up: each may pass on a retry."""
TRANSIENT_WORDS = (
    "timeout",
    "timed out",
    "database is locked",
    "deadlock",
    "could not serialize",
    "server closed the connection unexpectedly",
    "connection reset",
    "terminating connection",
)
"""Causes that pass on a retry: locks, timeouts, a connection dropped (server restart, network).
A refused connection is not among them: a wrong host or port does not fix itself."""


class SqlTable(Block):
    """A database table that receives catalogue rows: appended, upserted by key, or replaced.

    The table is created when missing (the key column as TEXT PRIMARY KEY, other columns typed
    from `types`, else TEXT; arrays as JSON text) and missing columns are added.

    Attributes:
        url: The SQLAlchemy database URL; it may carry a password.
        table: The table to write.
        schema_name: The database schema of the table, or None for the default.
        types: Column types for columns skuflow creates.

    Example:
        Upsert products into a PostgreSQL table:
        ```python
        from connectors.sql_table import SqlTable

        table = SqlTable.load("BLOCK_NAME")
        with table.open(columns=["sku", "title"], key="sku", mode="upsert") as writer:
            writer.write([{"sku": "A-1", "title": "Hex bolt M6"}])
            writer.commit()
        ```
    """

    _block_type_name = "skuflow SQL Table"
    _block_type_slug = "skuflow-sql-table"

    url: SecretStr = Field(
        ..., description="The SQLAlchemy URL, e.g. postgresql+psycopg://user:password@host/db."
    )
    table: str = Field(..., min_length=1, description="The name of the table to write.")
    schema_name: str | None = Field(
        None, description="The database schema holding the table, or None for the default."
    )
    types: dict[str, str] = Field(
        default_factory=dict,
        description="Types of created columns: text, number, integer, boolean or array.",
    )

    _engine: Engine | None = PrivateAttr(None)

    def describe(self) -> str:
        return block_label(self, f"SQL table {self._qualified_name()} at {self._safe_url()}")

    def get_engine(self) -> Engine:
        """The engine, created once; the URL is unwrapped here to connect, elsewhere only masked."""
        if self._engine is None:
            from sqlalchemy import create_engine, event
            from sqlalchemy.engine import make_url

            try:
                url = make_url(self.url.get_secret_value())
                postgres = url.get_backend_name() == "postgresql"
                connect_args = {"connect_timeout": 10} if postgres else {}
                engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
            except Exception as exc:  # bad URL, unknown dialect, missing driver
                hint = " (use postgresql+psycopg://)" if "psycopg2" in str(exc) else ""
                raise TerminalConnectorError(
                    f"{self.describe()}: unusable database URL: {self._scrub(str(exc))}{hint}"
                ) from None
            if engine.dialect.name == "sqlite":
                # pysqlite opens transactions lazily and never for DDL; take control so CREATE,
                # ALTER and the replace swap roll back with everything else.
                event.listen(engine, "connect", _sqlite_manual_transactions)
                event.listen(engine, "begin", _sqlite_begin_immediate)
            self._engine = engine
        return self._engine

    def close(self) -> None:
        """Release pooled connections; the block can still be used (it reconnects)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def open(
        self,
        *,
        columns: list[str],
        key: str,
        mode: WriteMode,
        types: Mapping[str, str] | None = None,
    ) -> SqlTableWriter:
        """Start a write session in one transaction; `types` adds to the block's `types`."""
        kinds = check_open_arguments(
            destination=self.describe(),
            columns=columns,
            key=key,
            mode=mode,
            types={**self.types, **(types or {})},
        )
        return SqlTableWriter(block=self, columns=list(columns), key=key, mode=mode, kinds=kinds)

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        private = dict(state.get("__pydantic_private__") or {})
        private["_engine"] = None  # engines hold sockets and locks: never pickled
        state["__pydantic_private__"] = private
        return state

    def _qualified_name(self) -> str:
        return f"{self.schema_name}.{self.table}" if self.schema_name else self.table

    def _safe_url(self) -> str:
        from sqlalchemy.engine import make_url

        try:
            return make_url(self.url.get_secret_value()).render_as_string(hide_password=True)
        except Exception:
            return "<unparsable URL>"

    def _scrub(self, message: str) -> str:
        from sqlalchemy.engine import make_url

        try:
            password = make_url(self.url.get_secret_value()).password
        except Exception:
            password = None
        return message.replace(str(password), "***") if password else message

    def _error(self, exc: Exception, *, doing: str, hint: str = "") -> SkuflowError:
        """Sort a driver error into transient or terminal, with a message free of the password."""
        original = getattr(exc, "orig", None) or exc
        lines = [line.strip() for line in str(original).splitlines() if line.strip()]
        cause = self._scrub(" ".join(lines[:3]) or type(original).__name__)
        sqlstate = getattr(original, "sqlstate", None)
        transient = sqlstate in TRANSIENT_SQLSTATES or any(
            word in cause.lower() for word in TRANSIENT_WORDS
        )
        kind = TransientConnectorError if transient else TerminalConnectorError
        return kind(f"{self.describe()}: {doing} failed: {cause}{hint}")


class SqlTableWriter(WriterLifecycle):
    """One transaction on the table: rows written are visible only after `commit()`."""

    def __init__(
        self,
        *,
        block: SqlTable,
        columns: list[str],
        key: str,
        mode: WriteMode,
        kinds: dict[str, str],
    ) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        self._block = block
        self._columns = columns
        self._key = key
        self._mode = mode
        self._rows = 0
        self._state = "open"
        self._staging: str | None = None
        self._copy_buffer: str | None = None

        def connect() -> Connection:
            try:
                return block.get_engine().connect()
            except SQLAlchemyError as exc:
                raise block._error(exc, doing="connecting") from exc

        self._connection: Connection = call_with_retries(connect, attempts=3, base_delay=0.5)
        self._preparer = self._connection.dialect.identifier_preparer
        try:
            self._transaction = self._connection.begin()
        except SQLAlchemyError as exc:
            self._connection.close()
            raise block._error(exc, doing="starting a transaction") from exc
        try:
            self._target = self._prepare(kinds)
            self._converters = {c: _converter(self._target.c[c].type) for c in columns}
            self._statement = self._insert_statement()
            dialect = self._connection.dialect
            self._bulk_copy = dialect.name == "postgresql" and dialect.driver == "psycopg"
        except SQLAlchemyError as exc:
            self._discard()
            raise block._error(exc, doing="preparing the table") from exc
        except BaseException:
            self._discard()
            raise

    def __enter__(self) -> SqlTableWriter:
        return self

    def write(self, rows: list[dict[str, Any]]) -> None:
        """Insert (or upsert) one batch inside the session's transaction."""
        from sqlalchemy.exc import IntegrityError, SQLAlchemyError

        self._check_open()
        if not rows:
            return
        try:
            values = self._convert_batch(rows)
        except TerminalConnectorError:
            self._discard()
            raise
        if self._mode != "append":
            key = self._columns.index(self._key)
            values = list({row[key]: row for row in values}.values())  # last one wins
        try:
            if self._bulk_copy:
                self._copy_batch(values)
            else:
                params = [dict(zip(self._columns, row, strict=True)) for row in values]
                self._connection.execute(self._statement, params)
        except Exception as exc:
            if not isinstance(exc, SQLAlchemyError) and not hasattr(exc, "sqlstate"):
                raise
            self._discard()
            hint = ""
            integrity = isinstance(exc, IntegrityError) or getattr(exc, "sqlstate", "") == "23505"
            if self._mode == "append" and integrity:
                hint = " (mode 'upsert' updates rows whose key is already in the table)"
            raise self._block._error(exc, doing="writing", hint=hint) from exc
        self._rows += len(values)

    def commit(self) -> WriteResult:
        """Swap the staging table in (replace) and commit: all rows appear at once."""
        from sqlalchemy import inspect, text
        from sqlalchemy.exc import SQLAlchemyError

        self._check_open()
        block = self._block
        try:
            if self._staging is not None:
                if inspect(self._connection).has_table(block.table, schema=block.schema_name):
                    self._connection.execute(text(f"DROP TABLE {self._quoted(block.table)}"))
                self._connection.execute(
                    text(
                        f"ALTER TABLE {self._quoted(self._staging)} "
                        f"RENAME TO {self._preparer.quote(block.table)}"
                    )
                )
                if self._connection.dialect.name == "postgresql":
                    self._connection.execute(
                        text(
                            f"ALTER TABLE {self._quoted(block.table)} RENAME CONSTRAINT "
                            f"{self._preparer.quote(self._staging + '_pkey')} "
                            f"TO {self._preparer.quote(block.table + '_pkey')}"
                        )
                    )
            self._transaction.commit()
        except SQLAlchemyError as exc:
            self._discard()
            raise block._error(exc, doing="committing") from exc
        self._connection.close()
        self._state = "committed"
        return WriteResult(
            destination=block.describe(),
            rows=self._rows,
            location=f"{block._safe_url()}#{block._qualified_name()}",
        )

    def abort(self) -> None:
        """Roll back: the table is exactly as it was before `open()`."""
        if self._state == "open":
            self._discard()

    # -- helpers --------------------------------------------------------------------------------

    def _copy_batch(self, rows: list[tuple[Any, ...]]) -> None:
        """PostgreSQL: COPY the batch into a temporary table, then one INSERT … SELECT (with
        ON CONFLICT for upsert) moves it into the target: ~10x faster than row inserts, and
        still inside the session's transaction."""
        from psycopg.types.json import Jsonb
        from sqlalchemy import JSON

        raw = self._connection.connection.driver_connection
        assert raw is not None  # a live connection's psycopg connection
        quote = self._preparer.quote
        columns = ", ".join(quote(c) for c in self._columns)
        with raw.cursor() as cursor:
            if self._copy_buffer is None:
                self._copy_buffer = f"skuflow_copy_{uuid.uuid4().hex[:8]}"
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {quote(self._copy_buffer)} ON COMMIT DROP AS "
                    f"SELECT {columns} FROM {self._quoted(self._target.name)} WITH NO DATA"
                )
            json_columns = [
                i for i, c in enumerate(self._columns) if isinstance(self._target.c[c].type, JSON)
            ]
            with cursor.copy(f"COPY {quote(self._copy_buffer)} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    if json_columns:
                        row = tuple(
                            Jsonb(v) if i in json_columns and v is not None else v
                            for i, v in enumerate(row)
                        )
                    copy.write_row(row)
            insert = (
                f"INSERT INTO {self._quoted(self._target.name)} ({columns}) "
                f"SELECT {columns} FROM {quote(self._copy_buffer)}"
            )
            if self._mode != "append":
                others = [c for c in self._columns if c != self._key]
                updates = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in others)
                action = f"DO UPDATE SET {updates}" if others else "DO NOTHING"
                insert += f" ON CONFLICT ({quote(self._key)}) {action}"
            cursor.execute(insert)
            cursor.execute(f"TRUNCATE {quote(self._copy_buffer)}")

    def _prepare(self, kinds: dict[str, str]) -> Table:
        """Create the table (or the replace staging table), add missing columns, reflect it."""
        from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, Table, inspect, text

        block, connection = self._block, self._connection
        inspector = inspect(connection)
        exists = inspector.has_table(block.table, schema=block.schema_name)
        name = block.table
        if self._mode == "replace" and exists:
            name = self._staging = f"{block.table[:30]}_skuflow_{uuid.uuid4().hex[:8]}"
        if name != block.table or not exists:
            Table(
                name,
                MetaData(),
                *(Column(c, _sql_type("text" if c == self._key else kinds[c])) for c in kinds),
                PrimaryKeyConstraint(self._key, name=f"{name}_pkey"),
                schema=block.schema_name,
            ).create(connection)
        else:
            present = {c["name"] for c in inspector.get_columns(name, schema=block.schema_name)}
            for column in (c for c in self._columns if c not in present):
                sql_type = _sql_type(kinds[column]).compile(dialect=connection.dialect)
                connection.execute(
                    text(
                        f"ALTER TABLE {self._quoted(name)} "
                        f"ADD COLUMN {self._preparer.quote(column)} {sql_type}"
                    )
                )
            if self._mode == "upsert":
                self._check_key_unique(inspector, name)
        return Table(name, MetaData(), schema=block.schema_name, autoload_with=connection)

    def _check_key_unique(self, inspector: Any, name: str) -> None:
        schema = self._block.schema_name
        keys = [inspector.get_pk_constraint(name, schema=schema).get("constrained_columns")]
        keys += [u["column_names"] for u in inspector.get_unique_constraints(name, schema=schema)]
        keys += [
            i["column_names"] for i in inspector.get_indexes(name, schema=schema) if i["unique"]
        ]
        if [self._key] not in keys:
            raise TerminalConnectorError(
                f"{self._block.describe()}: upsert needs column '{self._key}' to be the table's "
                "primary key or unique, and it is neither"
            )

    def _insert_statement(self) -> Any:
        from sqlalchemy import insert
        from sqlalchemy.dialects import postgresql, sqlite

        dialect = self._connection.dialect.name
        if self._mode == "append":
            return insert(self._target)
        statement: postgresql.Insert | sqlite.Insert
        if dialect == "postgresql":
            statement = postgresql.insert(self._target)
        elif dialect == "sqlite":
            statement = sqlite.insert(self._target)
        elif self._mode == "replace":
            return insert(self._target)
        else:
            raise TerminalConnectorError(
                f"{self._block.describe()}: upsert is supported on PostgreSQL and SQLite, "
                f"not {dialect}"
            )
        others = {c: statement.excluded[c] for c in self._columns if c != self._key}
        if not others:
            return statement.on_conflict_do_nothing(index_elements=[self._key])
        return statement.on_conflict_do_update(index_elements=[self._key], set_=others)

    def _convert_batch(self, rows: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        """The batch as tuples in column order, each value bound to its column's type.

        Converted a column at a time, values already of the column's type passing straight
        through, so a 100k-row upsert spends its time in the database, not in Python.
        """
        unknown = set().union(*rows) - self._converters.keys()
        if unknown:
            raise TerminalConnectorError(
                f"{self._block.describe()}: row has columns not opened for writing: "
                f"{sorted(unknown)}"
            )
        if any(row.get(self._key) is None for row in rows):
            raise TerminalConnectorError(
                f"{self._block.describe()}: a row has no value for key column '{self._key}'"
            )
        columns = []
        for column, convert in self._converters.items():
            values = [row.get(column) for row in rows]
            try:
                columns.append(_convert_column(convert, values))
            except (TypeError, ValueError):
                columns.append(self._convert_row_by_row(column, convert, rows))
        return list(zip(*columns, strict=True))

    def _convert_row_by_row(
        self, column: str, convert: Callable[[Any], Any], rows: list[dict[str, Any]]
    ) -> list[Any]:
        """The slow path, to name the row whose value does not fit."""
        converted = []
        for row in rows:
            try:
                converted.append(convert(row.get(column)))
            except (TypeError, ValueError) as exc:
                raise TerminalConnectorError(
                    f"{self._block.describe()}: row {self._key}={row[self._key]!r}, column "
                    f"'{column}': {exc}"
                ) from None
        return converted

    def _quoted(self, name: str) -> str:
        schema = self._block.schema_name
        quoted = self._preparer.quote(name)
        return f"{self._preparer.quote_schema(schema)}.{quoted}" if schema else quoted

    def _check_open(self) -> None:
        if self._state != "open":
            raise TerminalConnectorError(
                f"{self._block.describe()}: this write session is already {self._state}"
            )

    def _discard(self) -> None:
        self._state = "aborted"
        try:
            self._transaction.rollback()
        except Exception:  # the connection may already be gone; closing it is what matters
            pass
        finally:
            self._connection.close()


def _sql_type(kind: str) -> TypeEngine[Any]:
    from sqlalchemy import BigInteger, Boolean, Double, Text

    types: dict[str, TypeEngine[Any]] = {
        "number": Double(),
        "integer": BigInteger(),
        "boolean": Boolean(),
    }
    return types.get(kind, Text())


def _converter(sql_type: TypeEngine[Any]) -> Callable[[Any], Any]:
    """How a Python value is bound to a column of this (reflected) type."""
    from sqlalchemy import JSON, Boolean, Float, Integer, Numeric

    if isinstance(sql_type, JSON):
        return _nan_to_none
    if isinstance(sql_type, Boolean):
        return _to_bool
    if isinstance(sql_type, Integer):
        return _to_int
    if isinstance(sql_type, Float | Numeric):
        return _to_float
    return to_text


def _convert_column(convert: Callable[[Any], Any], values: list[Any]) -> list[Any]:
    """`convert` over a column, skipping values that already have the target type."""
    if convert is _to_float:
        return [v if type(v) is float and v == v else _to_float(v) for v in values]
    types: dict[Callable[[Any], Any], type] = {to_text: str, _to_int: int, _to_bool: bool}
    passing = types.get(convert)
    if passing is None:
        return [convert(v) for v in values]
    return [v if type(v) is passing else convert(v) for v in values]


def _nan_to_none(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def _to_float(value: Any) -> float | None:
    value = _nan_to_none(value)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    return float(value)


def _to_int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    number = _to_float(value)
    if number is None:
        return None
    if not number.is_integer():
        raise ValueError(f"{value!r} is not a whole number")
    return int(number)


def _to_bool(value: Any) -> bool | None:
    value = _nan_to_none(value)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no"):
        return False
    raise ValueError(f"{value!r} is not a boolean")


def _sqlite_manual_transactions(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def _sqlite_begin_immediate(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")
