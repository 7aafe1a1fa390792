"""The run lifecycle's job leases on real SQLite and PostgreSQL: one owner claims a job, a live
lease keeps others out, an expired one lets another take the job over (counted as an attempt),
a cancelled job stays cancelled whatever its work returns."""

from __future__ import annotations

from datetime import timedelta

from catalog.db import session_scope
from catalog.models import Run, RunStatus, utcnow
from catalog.repository import get_or_create_organization
from flows.support import runs as lifecycle


def _queued(store_url: str) -> int:
    with session_scope(store_url) as session:
        org = get_or_create_organization(session, name="leases")
        run = Run(organization_id=org.id, operation="ingest", status="queued", counts={})
        session.add(run)
        session.flush()
        return run.id


def _claim(store_url: str, run_id: int, owner: str) -> int | None:
    with session_scope(store_url) as session:
        return lifecycle.claim_job(session, run_id=run_id, owner=owner, lease_seconds=60)


def _expire(store_url: str, run_id: int) -> None:
    with session_scope(store_url) as session:
        session.get(Run, run_id).lease_expires_at = utcnow() - timedelta(seconds=1)


def test_a_live_lease_keeps_a_job_to_its_owner_and_an_expired_one_is_taken_over(
    store_url: str,
) -> None:
    run_id = _queued(store_url)
    with session_scope(store_url) as session:
        assert lifecycle.dispatch_job(session, run_id=run_id, owner="a", lease_seconds=60)
    assert _claim(store_url, run_id, "b") is None  # handed to a, which is alive
    assert _claim(store_url, run_id, "a") == 1
    assert _claim(store_url, run_id, "b") is None  # running under a's live lease
    with session_scope(store_url) as session:
        assert lifecycle.expired_jobs(session) == []
        assert not lifecycle.renew_lease(session, run_id=run_id, owner="b", lease_seconds=60)
        assert lifecycle.renew_lease(session, run_id=run_id, owner="a", lease_seconds=60)

    _expire(store_url, run_id)  # a died: its heartbeat stopped
    with session_scope(store_url) as session:
        assert lifecycle.expired_jobs(session) == [run_id]
    assert _claim(store_url, run_id, "b") == 2
    assert _claim(store_url, run_id, "a") is None
    with session_scope(store_url) as session:
        assert not lifecycle.renew_lease(session, run_id=run_id, owner="a", lease_seconds=60)
        run = lifecycle.finish_job(
            session, run_id=run_id, status=RunStatus.COMPLETED, result={"stored": 3}
        )
        assert (run.status, run.counts["stored"], run.lease_owner) == ("completed", 3, None)
        assert run.started_at is not None and run.finished_at is not None
        assert lifecycle.expired_jobs(session) == []
    assert _claim(store_url, run_id, "c") is None  # finished jobs are never claimed


def test_a_cancelled_job_stays_cancelled_and_is_never_claimed(store_url: str) -> None:
    run_id = _queued(store_url)
    assert _claim(store_url, run_id, "a") == 1
    with session_scope(store_url) as session:
        assert lifecycle.cancel_run(session, run=session.get(Run, run_id))
        assert not lifecycle.cancel_run(session, run=session.get(Run, run_id))
        run = lifecycle.finish_job(session, run_id=run_id, status=RunStatus.COMPLETED)
        assert run.status == "cancelled"
    _expire(store_url, run_id)
    assert _claim(store_url, run_id, "b") is None
