"""Background jobs: a job is a store `Run` started over HTTP and worked on off the request.

`JobRunner` runs a job's work function in a thread pool inside the API process (the embedded
default). The work gets a `JobContext` to report progress, charge credits, and check for
cancellation between chunks; `JobContext.for_each_chunk` makes one bad item fail alone instead
of the whole job. Status moves ``queued → running → completed | failed``; ``cancelled`` is set
by `cancel_job` and wins over whatever the work returns afterwards.

With ``backend="prefect"`` (``SKUFLOW_API_JOBS=prefect``) each job's work runs as a Prefect
flow run in the same threads (`api.flow_jobs`), so jobs show up in the Prefect UI with their
state. Not done yet: handing jobs to deployment workers with ``run_deployment``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from api.redaction import Redactor
from api.usage import charge
from catalog.db import transaction
from catalog.models import Organization, Run, RunStatus, utcnow

log = logging.getLogger("skuflow.api.jobs")

T = TypeVar("T")
ACTIVE = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)
FINISHED = (RunStatus.COMPLETED.value, RunStatus.FAILED.value, RunStatus.CANCELLED.value)


def as_utc(moment: datetime | None) -> datetime | None:
    """Timestamps as UTC-aware (SQLite hands them back naive)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class JobCancelled(Exception):
    """Raised inside work when the job was cancelled; the runner stops it quietly."""


def create_job(
    session: Session,
    *,
    organization: Organization,
    operation: str,
    params: dict[str, Any] | None = None,
    total: int = 0,
    catalog_id: int | None = None,
) -> Run:
    """A queued job with zero progress out of ``total`` items."""
    run = Run(
        organization_id=organization.id,
        catalog_id=catalog_id,
        operation=operation,
        status=RunStatus.QUEUED.value,
        params=params or {},
        counts={"total": total, "completed": 0, "failed": 0},
    )
    session.add(run)
    session.flush()
    return run


def cancel_job(session: Session, *, run: Run) -> bool:
    """Cancel a queued or running job; False when it had already finished. Work in progress
    stops at its next chunk; what it completed is kept (and stays charged)."""
    if run.status not in ACTIVE:
        return False
    run.status = RunStatus.CANCELLED.value
    run.finished_at = utcnow()
    session.flush()
    return True


@dataclass
class ItemFailure:
    item: Any
    error: str


@dataclass
class JobContext:
    """What a job's work function may do with its job."""

    run_id: int
    organization_id: int
    sessions: sessionmaker[Session]
    params: dict[str, Any] = field(default_factory=dict)
    operation: str = ""

    def session(self) -> AbstractContextManager[Session]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        return transaction(self.sessions)

    def cancelled(self) -> bool:
        with self.session() as session:
            run = session.get(Run, self.run_id)
            return run is None or run.status == RunStatus.CANCELLED.value

    def progress(self, *, completed: int = 0, failed: int = 0, total: int | None = None) -> None:
        """Add to the job's completed/failed counts (and set its total)."""
        with self.session() as session:
            run = session.get(Run, self.run_id, with_for_update=True)
            counts = dict(run.counts or {})
            counts["completed"] = counts.get("completed", 0) + completed
            counts["failed"] = counts.get("failed", 0) + failed
            if total is not None:
                counts["total"] = total
            run.counts = counts

    def charge(self, items: Sequence[str], *, operation: str, credits_each: float = 1.0) -> None:
        with self.session() as session:
            charge(
                session,
                organization_id=self.organization_id,
                run_id=self.run_id,
                operation=operation,
                items=items,
                credits_each=credits_each,
            )

    def for_each_chunk(
        self,
        items: Sequence[T],
        handle: Callable[[Sequence[T]], None],
        *,
        size: int = 1000,
        count: bool = True,
    ) -> list[ItemFailure]:
        """Call ``handle`` on chunks of ``items``, counting progress. A chunk that raises is
        retried item by item so only the bad items fail (each with its error); cancellation
        is checked between chunks and raises `JobCancelled`. With ``count=False`` the job's
        progress is left alone (a later stage over items already counted)."""
        failures: list[ItemFailure] = []
        for start in range(0, len(items), size):
            if self.cancelled():
                raise JobCancelled
            chunk = items[start : start + size]
            try:
                handle(chunk)
                if count:
                    self.progress(completed=len(chunk))
                continue
            except JobCancelled:
                raise
            except Exception:  # noqa: BLE001 - retried one by one below to isolate the cause
                log.debug("chunk at %s failed; retrying its items one by one", start)
            done = 0
            for item in chunk:
                try:
                    handle([item])
                    done += 1
                except Exception as exc:  # noqa: BLE001 - the item fails, the job goes on
                    failures.append(ItemFailure(item=item, error=f"{type(exc).__name__}: {exc}"))
            if count:
                self.progress(completed=done, failed=len(chunk) - done)
        return failures


JobWork = Callable[[JobContext], dict[str, Any] | None]
OnFinish = Callable[[int], None]


class JobRunner:
    """Runs jobs in a thread pool; one per app."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        workers: int = 4,
        backend: str = "threads",
        redactor: Redactor | None = None,
    ) -> None:
        """``redactor`` takes server paths and database URLs out of each job's result and
        error before they are stored (clients read them, and webhooks carry them)."""
        self.sessions = sessions
        self.backend = backend
        self.redactor = redactor or Redactor()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="skuflow-job")
        self._lock = threading.Lock()
        self._futures: dict[int, Future[None]] = {}

    def submit(self, run: Run, work: JobWork, *, on_finish: OnFinish | None = None) -> None:
        """Start ``work`` for a queued job (call after the job's row is committed)."""
        context = JobContext(
            run_id=run.id,
            organization_id=run.organization_id,
            sessions=self.sessions,
            params=dict(run.params or {}),
            operation=run.operation,
        )
        future = self._pool.submit(self._run, context, work, on_finish)
        with self._lock:
            self._futures[run.id] = future
        future.add_done_callback(lambda _f, rid=run.id: self._forget(rid))

    def _forget(self, run_id: int) -> None:
        with self._lock:
            self._futures.pop(run_id, None)

    def active(self) -> int:
        with self._lock:
            return len(self._futures)

    def _run(self, context: JobContext, work: JobWork, on_finish: OnFinish | None) -> None:
        with context.session() as session:
            started = session.execute(
                update(Run)
                .where(Run.id == context.run_id, Run.status == RunStatus.QUEUED.value)
                .values(status=RunStatus.RUNNING.value, started_at=utcnow())
            ).rowcount
        if started:
            status, result, error = RunStatus.COMPLETED, None, None
            try:
                result = self._execute(context, work)
            except JobCancelled:
                status = RunStatus.CANCELLED
            except Exception as exc:  # noqa: BLE001 - recorded on the job for the client
                log.exception("job %s failed", context.run_id)
                status, error = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
            self._finish(context, status, result, error)
        if started and on_finish is not None:  # not for a job cancelled while queued
            try:
                on_finish(context.run_id)
            except Exception:  # noqa: BLE001 - a notification must not break the runner
                log.exception("on_finish of job %s failed", context.run_id)

    def _execute(self, context: JobContext, work: JobWork) -> dict[str, Any] | None:
        if self.backend == "prefect":
            from api.flow_jobs import run_as_flow

            return run_as_flow(context, work, context.operation)
        return work(context)

    def _finish(
        self,
        context: JobContext,
        status: RunStatus,
        result: dict[str, Any] | None,
        error: str | None,
    ) -> None:
        if result:
            result = self.redactor.value(result)
        if error is not None:
            error = self.redactor.text(error)
        with context.session() as session:
            run = session.get(Run, context.run_id, with_for_update=True)
            if result:
                run.counts = {**(run.counts or {}), **result}
            if run.status == RunStatus.CANCELLED.value:
                return
            run.status = status.value
            run.finished_at = utcnow()
            if error is not None:
                run.error = error[:2000]

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
