"""The supplier portal's domain: tokens, the schema check with line-level errors, landing the
file (claimed in the inbox, announced) and onboarding it with the onboard flow."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from api.supplier_portal.service import (
    authenticate_supplier,
    issue_supplier_token,
    onboard_landed,
    receive_upload,
    revoke_supplier_token,
)
from catalog.db import session_scope
from catalog.errors import InputError
from catalog.models import Record, Run
from catalog.repository import get_or_create_organization, upsert_catalog
from catalog.schema import CatalogSchema

SCHEMA = """
name: fasteners
kind: products
id: sku
text: [title]
unknown_columns: ignore
attributes:
  - {name: sku, type: text, required: true, source: ["sku"]}
  - {name: title, type: text, required: true, source: ["title"]}
  - {name: price, type: number, min: 0, source: ["price"]}
  - {name: finish, type: enum, enum: [zinc, plain], source: ["finish"]}
  - {name: category, type: text, required: true, derive: classify}
"""


@pytest.fixture
def token(store_url, tmp_path) -> str:
    path = tmp_path / "fasteners.yaml"
    path.write_text(SCHEMA)
    schema = CatalogSchema.from_yaml(path)
    with session_scope(store_url) as session:
        org = get_or_create_organization(session, name="test")
        catalog = upsert_catalog(session, organization=org, schema=schema)
        return issue_supplier_token(session, catalog=catalog, supplier="Acme").token


def upload(store_url: str, token: str, filename: str, content: bytes, inbox: Path):
    with session_scope(store_url) as session:
        record = authenticate_supplier(session, token=token)
        assert record is not None
        return receive_upload(
            session,
            token=record,
            filename=filename,
            stream=io.BytesIO(content),
            batch_size=2,
            inbox=inbox,
        )


def stored(store_url: str) -> dict[str, dict]:
    with session_scope(store_url) as session:
        return dict(session.execute(sa.select(Record.external_id, Record.values)).all())


@pytest.mark.usefixtures("prefect_harness")
def test_accepted_file_lands_and_the_onboard_flow_ingests_it(store_url, token, tmp_path):
    content = (
        b"sku,title,price,finish\nA-1,Hex bolt,0.12,zinc\nA-2,Hex nut,0.05,plain\nA-3,Washer,,\n"
    )
    landed = upload(store_url, token, "acme prices.csv", content, tmp_path / "inbox")

    assert (landed.rows, landed.supplier, landed.catalog) == (3, "Acme", "fasteners")
    source = Path(landed.source)
    assert source.parent.name == "claimed" and source.read_bytes() == content
    assert stored(store_url) == {}  # landed, not yet onboarded
    result = onboard_landed(landed, database_url=store_url)
    assert (result.rows, result.inserted, result.supplier) == (3, 3, "Acme")
    assert stored(store_url)["A-1"]["price"] == 0.12
    with session_scope(store_url) as session:
        run = session.get(Run, result.run_id)
        assert run.operation == "onboard" and run.params["supplier"] == "Acme"
        assert run.params["source"] == landed.source
        # the schema's category is derived by classify and no taxonomy was given: the onboard
        # run halts at validation, with the records it ingested kept
        assert (run.status, run.error, result.onboarding) == (
            "failed",
            "validation failed",
            "failed",
        )


def test_bad_file_is_rejected_by_line_and_nothing_is_stored(store_url, token, tmp_path):
    inbox = tmp_path / "inbox"
    upload(store_url, token, "first.csv", b"sku,title,price\nA-1,Hex bolt,0.12\n", inbox)
    landed = sorted(p.name for p in inbox.rglob("*") if p.is_file())
    before = stored(store_url)
    content = (
        b"sku,title,price,finish\n"
        b"A-1,Hex bolt (new),0.15,zinc\n"
        b"A-2,,0.05,plain\n"
        b"A-3,Washer,cheap,zinc\n"
        b"A-4,Nut,-1,chrome\n"
        b"A-1,Again,1,zinc\n"
    )
    with pytest.raises(InputError) as caught:
        upload(store_url, token, "acme.csv", content, inbox)

    lines = str(caught.value).splitlines()
    assert "acme.csv, row 3, column 'title': `title` has a value (got None)" in lines
    assert any(line.startswith("acme.csv, row 4, column 'price':") for line in lines)
    assert "acme.csv, row 5, column 'price': `price` is at least 0 (got -1.0)" in lines
    assert any(
        line.startswith("acme.csv, row 5, column 'finish': `finish` is one of") for line in lines
    )
    assert any(line.startswith("acme.csv, row 6") and "A-1" in line for line in lines)
    assert all(str(caught.value).count(tmp) == 0 for tmp in ("/tmp/", "upload.csv"))
    assert stored(store_url) == before
    assert sorted(p.name for p in inbox.rglob("*") if p.is_file()) == landed
    with session_scope(store_url) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(Run)) == 0


def test_missing_required_column_and_unsupported_type_are_refused(store_url, token, tmp_path):
    with pytest.raises(InputError, match="acme.csv.*title"):
        upload(store_url, token, "acme.csv", b"sku,price\nA-1,1\n", tmp_path)
    with pytest.raises(InputError, match=r"prices\.pdf: is not a supported file type"):
        upload(store_url, token, "../../prices.pdf", b"%PDF", tmp_path)
    assert stored(store_url) == {}


def test_tokens_are_per_supplier_and_revocable(store_url, token):
    with session_scope(store_url) as session:
        record = authenticate_supplier(session, token=token)
        assert record.supplier == "Acme"
        assert authenticate_supplier(session, token=token[:-1] + "x") is None
        assert authenticate_supplier(session, token="sk_abc_def") is None
        revoke_supplier_token(session, record=record)
    with session_scope(store_url) as session:
        assert authenticate_supplier(session, token=token) is None
