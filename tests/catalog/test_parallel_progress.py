"""Two batches of one run, in parallel on PostgreSQL, each inserting rows that reference the run
and then adding their counts to it, both commit (no deadlock) and both counts are kept."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from catalog.db import session_scope
from catalog.models import Run
from catalog.progress import add_progress
from catalog.repository import get_or_create_organization, start_run
from tests.conftest import _reset_postgres

pytestmark = pytest.mark.postgres


def test_parallel_batches_add_progress_without_deadlock(postgres_database: str) -> None:
    url = postgres_database
    _reset_postgres(url)
    with session_scope(url) as session:
        org = get_or_create_organization(session, name="parallel")
        run_id = start_run(session, organization=org, catalog=None, operation="test").id
    both_referenced = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []

    def batch(n: int) -> None:
        try:
            with session_scope(url) as session:
                # what inserting a row that references the run (a change) takes: the
                # foreign-key check's key-share lock on the run's row
                session.execute(
                    sa.text("SELECT 1 FROM runs WHERE id = :id FOR KEY SHARE"), {"id": run_id}
                )
                both_referenced.wait()
                add_progress(session, run_id=run_id, stage="classify", counts={"processed": n})
        except BaseException as exc:  # reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=batch, args=(n,)) for n in (3, 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    with session_scope(url) as session:
        assert session.get(Run, run_id).counts == {"classify": {"processed": 7}}
