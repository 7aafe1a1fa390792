"""Reviewing merges from the command line: list them with their evidence, approve one (the
whole merge), unmerge it (both records as they were)."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from catalog.db import session_scope
from catalog.models import Change, Record
from catalog.records import MERGED_INTO
from catalog.settings import get_settings
from cli.main import app
from matching import stage
from tests.matching.test_stage import ingest, offers, schema

runner = CliRunner()


def test_list_approve_and_unmerge_a_merge() -> None:
    settings = get_settings()
    s = schema(auto_merge=1.0, reject=0.0)
    frame, _ = offers(0, 300)
    catalog_id = ingest(settings.store_url, frame, org=settings.organization, s=s)
    with session_scope() as session:
        stage.dedupe_catalog(session, catalog_id=catalog_id, schema=s, run_id=None)
        change = session.scalars(
            select(Change).where(Change.operation == "dedupe", Change.field == MERGED_INTO)
        ).first()
        assert change is not None
        change_id, into = change.id, change.new_value["into"]
        duplicate = session.get(Record, change.record_id).external_id
        before = {r.external_id: r.values for r in session.scalars(select(Record))}

    listed = runner.invoke(
        app,
        ["review", "list", "--operation", "dedupe", "--limit", "200"],
        env={"COLUMNS": "300"},
    )
    assert listed.exit_code == 0, listed.output
    assert f"merge into {into}" in listed.output and "duplicate of" in listed.output

    approved = runner.invoke(app, ["review", "approve", str(change_id), "--reviewer", "ana"])
    assert approved.exit_code == 0, approved.output
    with session_scope() as session:
        merged = session.scalar(select(Record).where(Record.external_id == duplicate))
        assert merged.values[MERGED_INTO]["into"] == into

    undone = runner.invoke(app, ["unmerge", "--record", duplicate, "--reviewer", "ana"])
    assert undone.exit_code == 0, undone.output
    with session_scope() as session:
        after = {r.external_id: r.values for r in session.scalars(select(Record))}
    assert after == before

    missing = runner.invoke(app, ["unmerge", "--record", duplicate])
    assert missing.exit_code != 0 and "not merged" in str(missing.exception)
