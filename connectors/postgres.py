"""PostgreSQL (and Supabase, which is PostgreSQL): a table or query as a source, a table as a
destination.

The destination is `SqlTable` with connection fields kept apart in `PostgresCredentials`, so one
credentials block serves many tables; writes go through COPY into a temporary table and one
`INSERT … ON CONFLICT` per batch, inside one transaction (see `connectors.sql_table`). The source
streams with a server-side cursor and, given `cursor_column`, reads only rows newer than the
last run's highest value.
"""

from __future__ import annotations

import datetime as dt
import decimal
from collections.abc import Iterator, Mapping
from typing import Any

from prefect.blocks.core import Block
from pydantic import Field, PrivateAttr, SecretStr, model_validator

from catalog.rows import RowBatch, WriteMode
from connectors.base import TerminalConnectorError, TransientConnectorError, block_label
from connectors.retry import call_with_retries
from connectors.sql_table import TRANSIENT_SQLSTATES, TRANSIENT_WORDS, SqlTable, SqlTableWriter


class PostgresCredentials(Block):
    """How to reach a PostgreSQL server: host, database, user and password.

    Attributes:
        host: The server's host name.
        port: The server's port.
        database: The database to connect to.
        username: The user to log in as.
        password: The user's password, if the server asks for one.
        sslmode: libpq's sslmode (disable, prefer, require, verify-full).

    Example:
        Load saved credentials and build a SQLAlchemy URL:
        ```python
        from connectors.postgres import PostgresCredentials

        credentials = PostgresCredentials.load("BLOCK_NAME")
        url = credentials.url()
        ```
    """

    _block_type_name = "skuflow PostgreSQL Credentials"
    _block_type_slug = "skuflow-postgres-credentials"

    host: str = Field("127.0.0.1", description="The host name of the PostgreSQL server.")
    port: int = Field(5432, description="The TCP port of the PostgreSQL server.")
    database: str = Field(..., description="The database to connect to.")
    username: str = Field("postgres", description="The user to log in as.")
    password: SecretStr | None = Field(None, description="The user's password, if one is needed.")
    sslmode: str = Field("prefer", description="libpq's sslmode: disable, prefer or require.")

    def url(self) -> SecretStr:
        """The SQLAlchemy URL (psycopg 3 driver), password included, kept secret."""
        from sqlalchemy.engine import URL

        url = URL.create(
            "postgresql+psycopg",
            username=self.username,
            password=self.password.get_secret_value() if self.password else None,
            host=self.host,
            port=self.port,
            database=self.database,
            query={"sslmode": self.sslmode},
        )
        return SecretStr(url.render_as_string(hide_password=False))


class PostgresTable(Block):
    """A PostgreSQL table that receives catalogue rows: appended, upserted by key, or replaced.

    Upserts use `INSERT … ON CONFLICT (key) DO UPDATE`; bulk rows travel by COPY; `replace`
    fills a staging table and swaps it in at commit. Nothing is visible before `commit()`.

    Attributes:
        credentials: The server to write to.
        table: The table to write.
        schema_name: The schema holding the table.
        types: Column types for columns skuflow creates.

    Example:
        Upsert products:
        ```python
        from connectors.postgres import PostgresTable

        table = PostgresTable.load("BLOCK_NAME")
        with table.open(columns=["sku", "title"], key="sku", mode="upsert") as writer:
            writer.write([{"sku": "A-1", "title": "Hex bolt M6"}])
            writer.commit()
        ```
    """

    _block_type_name = "skuflow PostgreSQL Table"
    _block_type_slug = "skuflow-postgres-table"

    credentials: PostgresCredentials = Field(..., description="The server and login to use.")
    table: str = Field(..., min_length=1, description="The name of the table to write.")
    schema_name: str | None = Field(None, description="The schema of the table, or the default.")
    types: dict[str, str] = Field(
        default_factory=dict,
        description="Types of created columns: text, number, integer, boolean or array.",
    )

    _table: SqlTable | None = PrivateAttr(None)

    def describe(self) -> str:
        return self.sql_table().describe()

    def sql_table(self) -> SqlTable:
        """The generic SQL destination this block configures, made once so its engine (and
        connection pool) is reused by every write session."""
        if self._table is None:
            self._table = SqlTable(
                url=self.credentials.url(),
                table=self.table,
                schema_name=self.schema_name,
                types=self.types,
            )
        self._table._block_document_name = getattr(self, "_block_document_name", None)
        return self._table

    def close(self) -> None:
        """Release pooled connections; the block can still be used (it reconnects)."""
        if self._table is not None:
            self._table.close()

    def open(
        self,
        *,
        columns: list[str],
        key: str,
        mode: WriteMode,
        types: Mapping[str, str] | None = None,
    ) -> SqlTableWriter:
        """Start a write session in one transaction (see `SqlTable.open`)."""
        return self.sql_table().open(columns=columns, key=key, mode=mode, types=types)

    def __getstate__(self) -> dict[Any, Any]:
        state = super().__getstate__()
        private = dict(state.get("__pydantic_private__") or {})
        private["_table"] = None  # its engine holds sockets: never pickled
        state["__pydantic_private__"] = private
        return state


class PostgresSource(Block):
    """A PostgreSQL table or query read as row batches, optionally only rows newer than last time.

    With `cursor_column`, each run reads rows whose value in that column is greater than the
    highest value the previous successful run stored (an `updated_at` timestamp or a serial id).
    Rows committed later with a value equal to that highest one are not read: use a column that
    only grows.

    Attributes:
        credentials: The server to read from.
        table: The table to read, or None when `query` is given.
        query: A SELECT to read instead of a table.
        cursor_column: The column whose growth marks new or changed rows.

    Example:
        Read new supplier rows:
        ```python
        from connectors.postgres import PostgresSource

        source = PostgresSource.load("BLOCK_NAME")
        for batch in source.read_batches(batch_size=1000):
            print(len(batch.rows))
        ```
    """

    _block_type_name = "skuflow PostgreSQL Source"
    _block_type_slug = "skuflow-postgres-source"

    credentials: PostgresCredentials = Field(..., description="The server and login to use.")
    table: str | None = Field(None, description="The table to read (schema.table allowed).")
    query: str | None = Field(None, description="A SELECT statement to read instead of a table.")
    cursor_column: str | None = Field(
        None, description="A column that only grows (updated_at, id): later runs read past it."
    )

    @model_validator(mode="after")
    def _table_or_query(self) -> PostgresSource:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of `table` and `query`")
        return self

    def describe(self) -> str:
        what = f"table {self.table}" if self.table else "query"
        where = f"{self.credentials.database}@{self.credentials.host}"
        return block_label(self, f"PostgreSQL {what} in {where}")

    def cursor_key(self) -> str:
        what = self.table or " ".join((self.query or "").split())
        return f"postgres:{self.credentials.host}/{self.credentials.database}:{what}"

    def columns(self) -> list[str]:
        return self.since(None).columns()

    def read_batches(self, batch_size: int = 5000) -> Iterator[RowBatch]:
        return self.since(None).read_batches(batch_size)

    def since(self, cursor: dict[str, Any] | None) -> PostgresRead:
        """Rows after `cursor` (everything without a `cursor_column` or a stored cursor)."""
        return PostgresRead(self, cursor if self.cursor_column else None)

    def _relation(self) -> str:
        if self.query:
            return f"({self.query.strip().rstrip(';')}) AS skuflow_source"
        return ".".join(f'"{part}"' for part in (self.table or "").split("."))


class PostgresRead:
    """One read of a `PostgresSource`; `cursor` is where the next run starts."""

    def __init__(self, source: PostgresSource, after: dict[str, Any] | None) -> None:
        self._source = source
        self._after = after
        self.cursor: dict[str, Any] | None = after

    def describe(self) -> str:
        return self._source.describe()

    def columns(self) -> list[str]:
        import psycopg

        with self._connect() as connection:
            try:
                cursor = connection.execute(self._select(limit=0), self._params())
                names = [column.name for column in cursor.description or []]
                if self._source.cursor_column and self._after is not None:
                    # an incremental read with nothing new has no columns: nothing to ingest
                    probe = connection.execute(self._select(limit=1), self._params()).fetchone()
                    return names if probe else []
            except psycopg.Error as exc:
                raise _query_error(self.describe(), exc) from None
            return names

    def read_batches(self, batch_size: int = 5000) -> Iterator[RowBatch]:
        column = self._source.cursor_column
        number = 0
        import psycopg

        with self._connect() as connection, connection.cursor(name="skuflow_read") as cursor:
            cursor.itersize = batch_size
            try:
                cursor.execute(self._select(), self._params())
            except psycopg.Error as exc:
                raise _query_error(self.describe(), exc) from None
            names = [c.name for c in cursor.description or []]
            if column and column not in names:
                raise TerminalConnectorError(
                    f"{self.describe()}: cursor column '{column}' is not among the columns read"
                )
            while rows := cursor.fetchmany(batch_size):
                records = [dict(zip(names, row, strict=True)) for row in rows]
                numbers = list(range(number + 1, number + len(records) + 1))
                number += len(records)
                if column:
                    self.cursor = {"column": column, "value": _json_value(records[-1][column])}
                yield RowBatch(rows=records, row_numbers=numbers, source=self.describe())

    def _select(self, limit: int | None = None) -> str:
        source, column = self._source, self._source.cursor_column
        sql = f"SELECT * FROM {source._relation()}"
        if column:
            quoted = '"' + column.replace('"', '""') + '"'
            if self._after is not None:
                sql += f" WHERE {quoted} > %(after)s"
            sql += f" ORDER BY {quoted}"
        return sql + (f" LIMIT {limit}" if limit is not None else "")

    def _params(self) -> dict[str, Any] | None:
        return {"after": self._after["value"]} if self._after is not None else None

    def _connect(self) -> Any:
        """A connection, retried with backoff when the server drops it (restart, network)."""
        return call_with_retries(self._connect_once, attempts=3, base_delay=0.5)

    def _connect_once(self) -> Any:
        import psycopg

        credentials = self._source.credentials
        try:
            return psycopg.connect(
                host=credentials.host,
                port=credentials.port,
                dbname=credentials.database,
                user=credentials.username,
                password=credentials.password.get_secret_value() if credentials.password else None,
                sslmode=credentials.sslmode,
                connect_timeout=10,
            )
        except psycopg.OperationalError as exc:
            raise _connect_error(self.describe(), exc) from None


def _connect_error(name: str, exc: Exception) -> Exception:
    cause = " ".join(str(exc).split())
    if "authentication" in cause or ("role" in cause and "does not exist" in cause):
        return TerminalConnectorError(f"{name}: credentials rejected: {cause}")
    if any(word in cause.lower() for word in TRANSIENT_WORDS):
        return TransientConnectorError(f"{name}: cannot connect: {cause}")
    return TerminalConnectorError(f"{name}: cannot connect: {cause}")


def _query_error(name: str, exc: Exception) -> Exception:
    cause = " ".join(str(exc).split())
    if getattr(exc, "sqlstate", None) in TRANSIENT_SQLSTATES:
        return TransientConnectorError(f"{name}: reading failed: {cause}")
    return TerminalConnectorError(f"{name}: reading failed: {cause}")


def _json_value(value: Any) -> Any:
    """A cursor value as JSON holds it; PostgreSQL casts the text back when comparing."""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value
