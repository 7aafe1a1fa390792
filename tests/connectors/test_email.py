"""EmailSource: attachments from a maildir (no server) and from a real IMAP server (dovecot)."""

from __future__ import annotations

import imaplib
import io
import mailbox
import os
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from openpyxl import Workbook

from catalog.errors import InputError
from connectors.base import TerminalConnectorError
from connectors.email import EmailSource, ImapCredentials
from tests.fakes.dovecot import Dovecot, TcpRelay, dovecot_missing, start_dovecot

USER, PASSWORD = "buyer", "s3cret-pass"


def message(subject: str, attachments: dict[str, bytes]) -> bytes:
    mail = EmailMessage()
    mail["From"] = "prices@acme.example"
    mail["To"] = "buyer@shop.example"
    mail["Subject"] = subject
    mail.set_content("Please find our price list attached.")
    for name, data in attachments.items():
        kind = {"csv": ("text", "csv"), "xlsx": ("application", "vnd.ms-excel")}.get(
            name.rsplit(".", 1)[-1], ("application", "pdf")
        )
        mail.add_attachment(data, maintype=kind[0], subtype=kind[1], filename=name)
    return mail.as_bytes()


def xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rows_by_source(read) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for batch in read.read_batches():
        found.setdefault(batch.source, []).extend(batch.rows)
    return found


# -- maildir (no server) ------------------------------------------------------------------------


@pytest.fixture
def maildir(tmp_path: Path) -> mailbox.Maildir:
    return mailbox.Maildir(tmp_path / "Maildir", create=True)


def test_maildir_attachments_become_rows_and_later_runs_read_only_new_mail(maildir, tmp_path):
    first = maildir.add(
        message(
            "March prices",
            {
                "prices.csv": b"sku,price\nA-1,1.50\nA-2,2.00\n",
                "terms.pdf": b"%PDF-1.4",
                "extra.xlsx": xlsx([["sku", "price"], ["X-1", 9.5]]),
            },
        )
    )
    source = EmailSource(maildir=str(tmp_path / "Maildir"))
    read = source.since(None)

    assert rows_by_source(read) == {
        f"maildir:{tmp_path / 'Maildir'}/{first}/prices.csv": [
            {"sku": "A-1", "price": "1.50"},
            {"sku": "A-2", "price": "2.00"},
        ],
        f"maildir:{tmp_path / 'Maildir'}/{first}/extra.xlsx": [{"sku": "X-1", "price": 9.5}],
    }
    assert rows_by_source(source.since(read.cursor)) == {}
    second = maildir.add(message("April prices", {"april.csv": b"sku,price\nA-1,1.60\n"}))
    assert rows_by_source(source.since(read.cursor)) == {
        f"maildir:{tmp_path / 'Maildir'}/{second}/april.csv": [{"sku": "A-1", "price": "1.60"}]
    }


def test_a_bad_attachment_names_the_message_file_and_row(maildir, tmp_path):
    key = maildir.add(message("broken", {"prices.csv": b"sku,price\nA-1,1\nA-2,2,3\n"}))
    with pytest.raises(InputError) as caught:
        rows_by_source(EmailSource(maildir=str(tmp_path / "Maildir")).since(None))
    assert str(caught.value).startswith(
        f"maildir:{tmp_path / 'Maildir'}/{key}/prices.csv, row 3: has 3 fields"
    )


def test_a_folder_that_is_not_a_maildir_is_refused(tmp_path):
    with pytest.raises(TerminalConnectorError, match="not a maildir"):
        EmailSource(maildir=str(tmp_path)).since(None)


# -- IMAP (dovecot) -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    reason = dovecot_missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    if os.geteuid() != 0 and not os.access("/usr/sbin/dovecot", os.X_OK):
        pytest.skip("dovecot is not executable by this user")
    with start_dovecot({USER: PASSWORD}) as server:
        yield server


@pytest.fixture
def folder(dovecot: Dovecot) -> str:
    """A fresh IMAP folder for one test, created through imaplib."""
    name = f"Suppliers-{uuid.uuid4().hex[:8]}"
    with imaplib.IMAP4("127.0.0.1", dovecot.port) as client:
        client.login(USER, PASSWORD)
        assert client.create(name)[0] == "OK"
    return name


def append(dovecot: Dovecot, folder: str, raw: bytes) -> None:
    """Deliver a message the way a mail client files one: IMAP APPEND."""
    with imaplib.IMAP4("127.0.0.1", dovecot.port) as client:
        client.login(USER, PASSWORD)
        assert client.append(folder, None, None, raw)[0] == "OK"


def imap_source(port: int, folder: str, password: str = PASSWORD) -> EmailSource:
    credentials = ImapCredentials(
        host="127.0.0.1", port=port, username=USER, password=password, security="none"
    )
    return EmailSource(credentials=credentials, mailbox=folder, retry_base_seconds=0.01)


def test_imap_round_trip_incremental_and_messages_left_unread(dovecot, folder):
    append(dovecot, folder, message("March", {"march.csv": b"sku,price\nA-1,1.50\n"}))
    source = imap_source(dovecot.port, folder)
    read = source.since(None)
    url = f"imap://{USER}@127.0.0.1:{dovecot.port}/{folder}"

    assert rows_by_source(read) == {f"{url}/1/march.csv": [{"sku": "A-1", "price": "1.50"}]}
    assert read.cursor["uid"] == 1
    append(dovecot, folder, message("April", {"april.csv": b"sku,price\nA-1,1.60\n"}))
    again = source.since(read.cursor)
    assert rows_by_source(again) == {f"{url}/2/april.csv": [{"sku": "A-1", "price": "1.60"}]}
    assert rows_by_source(source.since(again.cursor)) == {}
    renumbered = {**again.cursor, "uidvalidity": again.cursor["uidvalidity"] + 1}
    assert len(rows_by_source(source.since(renumbered))) == 2  # a new UIDVALIDITY: read all

    with imaplib.IMAP4("127.0.0.1", dovecot.port) as client:
        client.login(USER, PASSWORD)
        client.select(folder, readonly=True)
        assert client.search(None, "UNSEEN")[1][0].split() == [b"1", b"2"]


def test_imap_wrong_password_names_the_saved_block(dovecot, folder, prefect_harness):
    imap_source(dovecot.port, folder, password="wrong-pass").save("supplier-mail", overwrite=True)
    loaded = EmailSource.load("supplier-mail")

    assert loaded.credentials.password.get_secret_value() == "wrong-pass"
    with pytest.raises(TerminalConnectorError) as caught:
        loaded.since(None)
    assert "(block 'supplier-mail')" in str(caught.value)
    assert f"credentials rejected for user '{USER}'" in str(caught.value)
    assert "wrong-pass" not in str(caught.value)


def test_imap_server_unavailable_then_back_is_retried(dovecot, folder):
    append(dovecot, folder, message("March", {"march.csv": b"sku,price\nA-1,1.50\n"}))
    relay = TcpRelay(dovecot.port)
    try:
        relay.refuse_next = 2
        read = imap_source(relay.port, folder).since(None)
        assert relay.refused == 2
        assert [len(rows) for rows in rows_by_source(read).values()] == [1]
    finally:
        relay.close()


def test_imap_missing_folder_is_a_permanent_error(dovecot):
    with pytest.raises(TerminalConnectorError, match="cannot open folder 'No-Such-Folder'"):
        imap_source(dovecot.port, "No-Such-Folder").since(None)
