"""Background jobs: a job is a store `Run` started over HTTP and worked on off the request.

Every job of a known operation is a run of its own flow (`api.job_flows`: ``api-ingest``,
``api-sync``, ``enrich-job``, ``dataset-task``, ``auto-enrich``). `JobRunner` starts it:

- embedded (the default, ``SKUFLOW_API_JOBS=embedded``): the flow is called in one of the API
  process's threads, so a request answers 202 at once;
- deployments (``SKUFLOW_API_JOBS=deployments``): a flow run of the job's deployment in
  prefect.yaml is created (``run_deployment``, no waiting) and a worker executes it; the
  Prefect UI shows it by name, and cancelling the job moves the flow run to Cancelling.

The work gets a `JobContext` to report progress, charge credits, and check for cancellation
between chunks; `JobContext.for_each_chunk` makes one bad item fail alone instead of the whole
job. Status moves ``queued → running → completed | failed``; ``cancelled`` is set by
`cancel_job` and wins over whatever the work returns afterwards. The status itself is written
by the one run lifecycle (`flows.support.runs`): the worker holds a lease it renews while the
work runs, and a job whose process died (its lease ran out) is claimed again and re-run — the
stages and the credits ledger are idempotent, so nothing is done or charged twice.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from api.redaction import Redactor
from api.usage import charge
from catalog.db import transaction
from catalog.models import Organization, Run, RunStatus
from flows.support import runs as lifecycle

log = logging.getLogger("skuflow.api.jobs")

T = TypeVar("T")
ACTIVE = (RunStatus.QUEUED.value, RunStatus.RUNNING.value)
FINISHED = (RunStatus.COMPLETED.value, RunStatus.FAILED.value, RunStatus.CANCELLED.value)


def as_utc(moment: datetime | None) -> datetime | None:
    """Timestamps as UTC-aware (SQLite hands them back naive)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


class JobGone(LookupError):
    """The job's row was deleted before or while it ran; there is nothing to finish."""


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
    stops at its next chunk; what it completed is kept (and stays charged). A job a worker
    runs (a deployment's flow run) is cancelled in Prefect too."""
    if not lifecycle.cancel_run(session, run=run):
        return False
    if run.flow_run_id:
        from api.job_flows import cancel_flow_run

        cancel_flow_run(run.flow_run_id)
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
    hand_over: Callable[[list[int]], None] | None = None
    """Starts follow-up jobs this job queued (embedded: this process's runner)."""

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
            except Exception:  # retried one by one below to isolate the cause
                log.debug("chunk at %s failed; retrying its items one by one", start)
            done = 0
            for item in chunk:
                try:
                    handle([item])
                    done += 1
                except Exception as exc:  # the item fails, the job goes on
                    failures.append(ItemFailure(item=item, error=f"{type(exc).__name__}: {exc}"))
            if count:
                self.progress(completed=done, failed=len(chunk) - done)
        return failures


JobWork = Callable[[JobContext], dict[str, Any] | None]
OnFinish = Callable[[int], None]


def execute_job(
    context: JobContext,
    work: JobWork,
    *,
    owner: str,
    lease_seconds: float,
    restart: str = "reset",
    redactor: Redactor | None = None,
) -> RunStatus | None:
    """Claim the job, run ``work`` while a heartbeat renews the lease, and finish it. None when
    the job was not this owner's to run (finished, cancelled, or held by a live worker). A
    job taken over after its process died starts its counts again when its work redoes every
    item (``restart="reset"``); work that skips what it finished keeps them (``continue``)."""
    from prefect.runtime import flow_run

    with context.session() as session:
        attempt = lifecycle.claim_job(
            session, run_id=context.run_id, owner=owner, lease_seconds=lease_seconds
        )
        if attempt is None:
            return None
        run = session.get(Run, context.run_id)
        previous = run.flow_run_id
        if flow_run.id:
            run.flow_run_id = str(flow_run.id)
        if attempt > 1 and restart == "reset":
            counts = dict(run.counts or {})
            run.counts = {**counts, "completed": 0, "failed": 0, "resumed": attempt - 1}
    if attempt > 1 and previous and previous != str(flow_run.id or ""):
        from api.job_flows import mark_crashed

        mark_crashed(previous, taken_over_by=str(flow_run.id) if flow_run.id else None)
    heartbeat = _Heartbeat(context, owner=owner, lease_seconds=lease_seconds)
    heartbeat.start()
    status, result, error = RunStatus.COMPLETED, None, None
    try:
        result = work(context)
    except JobCancelled:
        status = RunStatus.CANCELLED
    except Exception as exc:  # recorded on the job for the client
        log.exception("job %s failed", context.run_id)
        status, error = RunStatus.FAILED, f"{type(exc).__name__}: {exc}"
    finally:
        heartbeat.stop()
    if redactor is not None:  # no server paths or database URLs in what clients read
        result = redactor.value(result) if result else result
        error = redactor.text(error) if error is not None else None
    with context.session() as session:
        run = lifecycle.finish_job(
            session, run_id=context.run_id, status=status, result=result, error=error
        )
        return RunStatus(run.status)


class _Heartbeat(threading.Thread):
    """Renews a job's lease every third of its length while the work runs."""

    def __init__(self, context: JobContext, *, owner: str, lease_seconds: float) -> None:
        super().__init__(name=f"skuflow-lease-{context.run_id}", daemon=True)
        self.context, self.owner, self.lease_seconds = context, owner, lease_seconds
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.lease_seconds / 3):
            try:
                with self.context.session() as session:
                    lifecycle.renew_lease(
                        session,
                        run_id=self.context.run_id,
                        owner=self.owner,
                        lease_seconds=self.lease_seconds,
                    )
            except Exception:  # the next beat tries again; expiry is the fallback
                log.exception("renewing the lease of job %s failed", self.context.run_id)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=5)


def worker_id() -> str:
    """This process, as a lease owner."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class JobRunner:
    """Starts jobs, embedded (threads of this process) or as deployments' flow runs; one per
    app. Embedded, it also takes over jobs whose lease ran out (their process died)."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        settings: Any = None,  # ApiSettings (imported lazily: no cycle)
        workers: int = 4,
        mode: str = "embedded",
        lease_seconds: float = 60.0,
        on_finish: OnFinish | None = None,
        redactor: Redactor | None = None,
    ) -> None:
        """``redactor`` takes server paths and database URLs out of each job's result and
        error before they are stored (clients read them, and webhooks carry them)."""
        self.sessions = sessions
        self.settings = settings
        self.mode = "deployments" if mode == "deployments" else "embedded"
        self.lease_seconds = lease_seconds
        self.owner = worker_id()
        self.on_finish = on_finish
        self.redactor = redactor or Redactor()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="skuflow-job")
        self._lock = threading.Lock()
        self._futures: dict[int, Future[None]] = {}
        self._closed = threading.Event()
        self._sweeper: threading.Thread | None = None

    # -- starting jobs ---------------------------------------------------------------------

    def submit(
        self, run: Run, work: JobWork | None = None, *, on_finish: OnFinish | None = None
    ) -> None:
        """Start a queued job (call after its row is committed): the flow of its operation,
        or ``work`` given here (ad-hoc work of no flow, run in this process)."""
        self.submit_id(run.id, work, on_finish=on_finish)

    def submit_id(
        self, run_id: int, work: JobWork | None = None, *, on_finish: OnFinish | None = None
    ) -> None:
        on_finish = on_finish or self.on_finish
        if self.mode == "deployments" and work is None:
            from api.job_flows import start_deployment_run

            start_deployment_run(self.sessions, run_id)
            if on_finish is not None:
                self._track(run_id, self._pool.submit(self._await_finish, run_id, on_finish))
            return
        with transaction(self.sessions) as session:
            lifecycle.dispatch_job(
                session, run_id=run_id, owner=self.owner, lease_seconds=self.lease_seconds
            )
        self._track(run_id, self._pool.submit(self._run, run_id, work, on_finish))

    def hand_over(self, run_ids: list[int]) -> None:
        """Start follow-up jobs a job queued (auto-enrichment after an ingest)."""
        for run_id in run_ids:
            self.submit_id(run_id)

    def _track(self, run_id: int, future: Future[None]) -> None:
        with self._lock:
            self._futures[run_id] = future
        future.add_done_callback(lambda _f, rid=run_id: self._forget(rid))

    def _forget(self, run_id: int) -> None:
        with self._lock:
            self._futures.pop(run_id, None)

    def active(self) -> int:
        with self._lock:
            return len(self._futures)

    def context(self, run_id: int) -> JobContext:
        """The job's context; `JobGone` when its row no longer exists (deleted)."""
        with transaction(self.sessions) as session:
            run = session.get(Run, run_id)
            if run is None:
                raise JobGone(run_id)
            return JobContext(
                run_id=run.id,
                organization_id=run.organization_id,
                sessions=self.sessions,
                params=dict(run.params or {}),
                operation=run.operation,
                hand_over=self.hand_over,
            )

    def _run(self, run_id: int, work: JobWork | None, on_finish: OnFinish | None) -> None:
        try:
            if work is None:
                from api.job_flows import run_embedded

                status = run_embedded(self, run_id)
            else:
                status = execute_job(
                    self.context(run_id),
                    work,
                    owner=self.owner,
                    lease_seconds=self.lease_seconds,
                    redactor=self.redactor,
                )
        except JobGone:
            log.warning("job %s was deleted; nothing to run", run_id)
            return
        except Exception:  # a job that cannot start is failed, not lost
            log.exception("job %s could not run", run_id)
            with transaction(self.sessions) as session:
                status = RunStatus(
                    lifecycle.finish_job(
                        session,
                        run_id=run_id,
                        status=RunStatus.FAILED,
                        error="the job could not start; see the API log",
                    ).status
                )
        if status is not None and status != RunStatus.QUEUED and on_finish is not None:
            try:
                on_finish(run_id)
            except Exception:  # a notification must not break the runner
                log.exception("on_finish of job %s failed", run_id)

    def _await_finish(self, run_id: int, on_finish: OnFinish) -> None:
        """Deployments: call ``on_finish`` once the worker has finished the job."""
        while not self._closed.wait(0.5):
            with transaction(self.sessions) as session:
                run = session.get(Run, run_id)
                if run is None or run.status in FINISHED:
                    break
        else:
            return
        try:
            on_finish(run_id)
        except Exception:  # a notification must not break the runner
            log.exception("on_finish of job %s failed", run_id)

    # -- restart safety ----------------------------------------------------------------------

    def start_sweeper(self) -> None:
        """Embedded: every half lease, take over the jobs whose lease ran out."""
        if self.mode != "embedded" or self._sweeper is not None:
            return
        self._sweeper = threading.Thread(target=self._sweep, name="skuflow-jobs-sweep", daemon=True)
        self._sweeper.start()

    def _sweep(self) -> None:
        while True:
            try:
                self.recover()
            except Exception:  # the next sweep tries again
                log.exception("taking over expired jobs failed")
            if self._closed.wait(max(self.lease_seconds / 2, 0.5)):
                return

    def recover(self) -> list[int]:
        """Hand the jobs whose lease ran out to this process (each is claimed atomically, so a
        job is taken by one process); jobs of no flow are failed, since their work is gone."""
        from api.job_flows import JOB_KINDS

        with transaction(self.sessions) as session:
            expired = lifecycle.expired_jobs(session)
            kinds = {run_id: session.get(Run, run_id).operation in JOB_KINDS for run_id in expired}
            for run_id, known in kinds.items():
                if not known:
                    lifecycle.finish_job(
                        session,
                        run_id=run_id,
                        status=RunStatus.FAILED,
                        error="the process running this job stopped",
                    )
        taken = [run_id for run_id, known in kinds.items() if known]
        with self._lock:
            taken = [run_id for run_id in taken if run_id not in self._futures]
        for run_id in taken:
            log.warning("taking over job %s (its lease ran out)", run_id)
            self.submit_id(run_id, on_finish=self._after_takeover)
        return taken

    def _after_takeover(self, run_id: int) -> None:
        """A taken-over job's end: what its kind does after it (a dataset task unlocks its
        dataset), then the subscribers' notification (the route's own callback died with the
        process that started it)."""
        from api.job_flows import JOB_KINDS

        with transaction(self.sessions) as session:
            kind = JOB_KINDS.get(session.get(Run, run_id).operation)
        if kind is not None and kind.after is not None:
            kind.after(self.sessions, run_id)
        if self.on_finish is not None:
            self.on_finish(run_id)

    def shutdown(self, wait: bool = True) -> None:
        self._closed.set()
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
