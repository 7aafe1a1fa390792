"""Email as a source: CSV and XLSX attachments in an IMAP mailbox or a local maildir, as rows.

Many suppliers still send their price list by mail. Each message's attachments become row
batches (through `FileSource`, so they are checked like any file), labelled with the message
they came from. Later runs read only messages that arrived since: for IMAP the cursor is the
mailbox's UIDVALIDITY and the highest UID read (a new UIDVALIDITY means the server renumbered
and everything is read again); for a maildir it is the set of message keys read. Messages are
never moved, flagged or deleted: the mailbox stays the supplier's record.
"""

from __future__ import annotations

import email
import email.policy
import imaplib
import mailbox
import os
import shutil
import tempfile
from collections.abc import Iterator
from email.message import EmailMessage
from functools import partial
from pathlib import Path
from typing import Any

from prefect.blocks.core import Block
from pydantic import Field, SecretStr, model_validator

from catalog.rows import RowBatch
from connectors.base import TerminalConnectorError, TransientConnectorError, block_label
from connectors.fetched_files import FetchedFiles, RemoteFile, readable
from connectors.retry import call_with_retries


class ImapCredentials(Block):
    """How to log in to an IMAP server.

    Attributes:
        host: The server's host name.
        port: The server's port (993 for IMAP over TLS, 143 for plain or STARTTLS).
        username: The mailbox user.
        password: The user's password (or app password).
        security: "tls" (implicit TLS), "starttls", or "none" (only for local test servers).

    Example:
        Check that the credentials log in:
        ```python
        from connectors.email import ImapCredentials

        credentials = ImapCredentials.load("BLOCK_NAME")
        credentials.connect().logout()
        ```
    """

    _block_type_name = "skuflow IMAP Credentials"
    _block_type_slug = "skuflow-imap-credentials"

    host: str = Field(..., description="The IMAP server's host name.")
    port: int = Field(993, description="The IMAP port: 993 for TLS, 143 for plain or STARTTLS.")
    username: str = Field(..., description="The mailbox user.")
    password: SecretStr = Field(..., description="The user's password or app password.")
    security: str = Field(
        "tls", pattern="^(tls|starttls|none)$", description="tls, starttls, or none."
    )
    timeout_seconds: float = Field(30.0, gt=0, description="Socket timeout per IMAP command.")

    def connect(self, where: str = "IMAP") -> imaplib.IMAP4:
        """A logged-in connection; login failures are terminal, network failures transient."""
        try:
            if self.security == "tls":
                connection: imaplib.IMAP4 = imaplib.IMAP4_SSL(
                    self.host, self.port, timeout=self.timeout_seconds
                )
            else:
                connection = imaplib.IMAP4(self.host, self.port, timeout=self.timeout_seconds)
                if self.security == "starttls":
                    connection.starttls()
        except (OSError, imaplib.IMAP4.error) as exc:  # no greeting, or BYE [UNAVAILABLE]
            raise TransientConnectorError(
                f"{where}: cannot reach {self.host}:{self.port}: {_text(exc)}"
            ) from None
        try:
            connection.login(self.username, self.password.get_secret_value())
        except imaplib.IMAP4.error as exc:
            _close(connection)
            raise TerminalConnectorError(
                f"{where}: credentials rejected for user '{self.username}': {_text(exc)}"
            ) from None
        return connection


class EmailSource(Block):
    """CSV and XLSX attachments from an IMAP mailbox or a maildir folder, read as row batches.

    Attributes:
        credentials: The IMAP server to read, or None to read `maildir`.
        mailbox: The IMAP folder to read.
        maildir: A local maildir to read instead of IMAP.
        search: An IMAP SEARCH criterion that narrows the messages, e.g. FROM "acme.example".
        encoding: The text encoding of CSV attachments.
        attempts: Tries per connection before a transient failure is final.
        retry_base_seconds: The first back-off pause; it doubles on every retry.

    Example:
        Read price lists that arrived since the last run:
        ```python
        from connectors.email import EmailSource

        inbox = EmailSource.load("BLOCK_NAME")
        read = inbox.since(None)
        for batch in read.read_batches():
            print(batch.source, len(batch.rows))
        ```
    """

    _block_type_name = "skuflow Email Source"
    _block_type_slug = "skuflow-email-source"

    credentials: ImapCredentials | None = Field(
        None, description="The IMAP server to read, or None to read a maildir."
    )
    mailbox: str = Field("INBOX", description="The IMAP folder to read.")
    maildir: str | None = Field(None, description="A local maildir to read instead of IMAP.")
    search: str = Field("ALL", description='An IMAP SEARCH criterion, e.g. FROM "acme.example".')
    encoding: str = Field("utf-8", description="The text encoding of CSV attachments.")
    attempts: int = Field(4, ge=1, description="Tries per connection before a failure is final.")
    retry_base_seconds: float = Field(
        1.0, ge=0, description="The first back-off pause in seconds; it doubles per retry."
    )

    @model_validator(mode="after")
    def _one_origin(self) -> EmailSource:
        if (self.credentials is None) == (self.maildir is None):
            raise ValueError("give exactly one of `credentials` (IMAP) and `maildir`")
        return self

    def describe(self) -> str:
        return block_label(
            self, f"maildir {self.maildir}" if self.maildir else f"mailbox {self._imap_url()}"
        )

    def cursor_key(self) -> str:
        return f"maildir:{self.maildir}" if self.maildir else self._imap_url()

    def columns(self) -> list[str]:
        return self.since(None).columns()

    def read_batches(self, batch_size: int = 5000) -> Iterator[RowBatch]:
        return self.since(None).read_batches(batch_size)

    def since(self, cursor: dict[str, Any] | None) -> EmailRead:
        """Attachments of messages that arrived after `cursor` (every message when None).

        Attachments are written to a temporary folder as each message is read, so memory holds
        one message at a time however many arrived."""
        spool = _Spool()
        try:
            if self.maildir:
                new_cursor = self._maildir_messages(cursor, spool)
            else:
                new_cursor = self._imap_messages(cursor, spool)
        except BaseException:
            spool.folder.cleanup()
            raise
        return EmailRead(self.describe(), spool, new_cursor, encoding=self.encoding)

    # -- maildir ------------------------------------------------------------------------------

    def _maildir_messages(self, cursor: dict[str, Any] | None, spool: _Spool) -> dict[str, Any]:
        path = Path(os.path.expanduser(self.maildir or ""))
        if not (path / "cur").is_dir() or not (path / "new").is_dir():
            raise TerminalConnectorError(f"{self.describe()}: not a maildir (no cur/ and new/)")
        box = mailbox.Maildir(path, factory=None, create=False)
        seen = set((cursor or {}).get("keys", []))
        keys = sorted(box.keys())
        for key in keys:
            if key in seen:
                continue
            message = email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
            spool.add(f"maildir:{path}/{key}", message)
        return {"keys": keys}

    # -- IMAP ---------------------------------------------------------------------------------

    def _imap_url(self) -> str:
        c = self.credentials
        return f"imap://{c.username}@{c.host}:{c.port}/{self.mailbox}" if c else ""

    def _imap_messages(self, cursor: dict[str, Any] | None, spool: _Spool) -> dict[str, Any]:
        return call_with_retries(
            lambda: self._imap_fetch(cursor, spool.reset()),
            attempts=self.attempts,
            base_delay=self.retry_base_seconds,
            max_delay=max(self.retry_base_seconds * 2 ** (self.attempts - 1), 1.0),
        )

    def _imap_fetch(self, cursor: dict[str, Any] | None, spool: _Spool) -> dict[str, Any]:
        assert self.credentials is not None
        where = self.describe()
        connection = self.credentials.connect(where)
        try:
            status, data = connection.select(_quoted(self.mailbox), readonly=True)
            if status != "OK":
                raise TerminalConnectorError(
                    f"{where}: cannot open folder '{self.mailbox}': {_text(data)}"
                )
            validity = _uidvalidity(connection)
            after = 0
            if cursor and cursor.get("uidvalidity") == validity:
                after = int(cursor.get("uid", 0))
            # no charset argument (imaplib drops a None one anyway)
            status, data = connection.uid("SEARCH", f"UID {after + 1}:*", self.search)
            if status != "OK":
                raise TerminalConnectorError(f"{where}: search refused: {_text(data)}")
            uids = sorted(int(u) for u in (data[0] or b"").split() if int(u) > after)
            for uid in uids:
                status, parts = connection.uid("FETCH", str(uid), "(BODY.PEEK[])")
                raw = next((p[1] for p in parts if isinstance(p, tuple)), None)
                if status != "OK" or raw is None:
                    raise TransientConnectorError(
                        f"{where}: message UID {uid} could not be fetched"
                    )
                message = email.message_from_bytes(raw, policy=email.policy.default)
                spool.add(f"{self._imap_url()}/{uid}", message)
            return {"uidvalidity": validity, "uid": max(uids, default=after)}
        except (TimeoutError, imaplib.IMAP4.abort, OSError) as exc:
            raise TransientConnectorError(f"{where}: connection lost: {exc}") from None
        except imaplib.IMAP4.error as exc:
            raise TerminalConnectorError(f"{where}: {_text(exc)}") from None
        finally:
            _close(connection)


class EmailRead:
    """One read of new messages' attachments; `cursor` is where the next run starts."""

    def __init__(self, where: str, spool: _Spool, cursor: dict[str, Any], *, encoding: str) -> None:
        self._where = where
        self._spool = spool
        self._files = FetchedFiles(spool.files, encoding=encoding)
        self.cursor: dict[str, Any] | None = cursor

    def describe(self) -> str:
        return self._where

    def columns(self) -> list[str]:
        return self._files.columns()

    def read_batches(self, batch_size: int = 5000) -> Iterator[RowBatch]:
        try:
            yield from self._files.read_batches(batch_size)
        finally:
            self._spool.folder.cleanup()


class _Spool:
    """Attachments saved to a temporary folder as their messages are read."""

    def __init__(self) -> None:
        self.folder = tempfile.TemporaryDirectory(prefix="skuflow-mail-")
        self.files: list[RemoteFile] = []

    def reset(self) -> _Spool:
        """Forget what a failed attempt saved (a retry reads the same messages again)."""
        for item in Path(self.folder.name).iterdir():
            item.unlink()
        self.files.clear()
        return self

    def add(self, label: str, message: EmailMessage) -> None:
        for name, data in _attachments(message):
            saved = Path(self.folder.name) / f"{len(self.files)}{Path(name).suffix.lower()}"
            saved.write_bytes(data)
            self.files.append(
                RemoteFile(
                    label=f"{label}/{name}",
                    name=name,
                    fetch=partial(shutil.move, saved),
                )
            )


def _attachments(message: EmailMessage) -> Iterator[tuple[str, bytes]]:
    """(file name, bytes) of each CSV/XLSX attachment, in message order."""
    for part in message.iter_attachments():
        name = part.get_filename()
        if name and readable(name):
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                yield Path(name).name, data


def _uidvalidity(connection: imaplib.IMAP4) -> int:
    """The UIDVALIDITY that SELECT announced (every IMAP4rev1 server sends it)."""
    _, data = connection.response("UIDVALIDITY")
    return int(data[0]) if data and data[0] else 0


def _quoted(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return " ".join(_text(v) for v in value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _close(connection: imaplib.IMAP4) -> None:
    try:
        connection.logout()
    except Exception:  # the connection may be gone already; nothing else to release
        pass
