"""Jobs as Prefect flow runs (``SKUFLOW_API_JOBS=prefect``).

Each job's work runs inside a run of the flow ``skuflow-api-job`` named after the job
(``ingest-42``), in the API process, against the Prefect API the process is configured for
(``PREFECT_API_URL``; Prefect's temporary local server otherwise). The flow run id is stored
on the job, so the run is found in the Prefect UI, and a job cancelled through the API ends
its flow run as Cancelled: the work stops at its next chunk and nothing it finished is lost.

The work itself is a closure over the app's settings, so it is handed to the flow through a
registry keyed by job id rather than as a flow parameter (parameters are the job id and
operation only, which is what the Prefect UI shows).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from prefect import flow
from prefect.runtime import flow_run
from prefect.states import Cancelled

from catalog.models import Run

if TYPE_CHECKING:
    from api.jobs import JobContext, JobWork

_pending: dict[int, tuple[JobWork, JobContext]] = {}
_lock = threading.Lock()


@flow(name="skuflow-api-job", flow_run_name="{operation}-{run_id}", persist_result=False)
def api_job(run_id: int, operation: str) -> Any:  # noqa: ANN401 - the work's own result
    """Run one API job's work; a cancelled job ends the flow run as Cancelled."""
    from api.jobs import JobCancelled

    with _lock:
        work, context = _pending[run_id]
    with context.session() as session:
        session.get(Run, run_id).flow_run_id = str(flow_run.id)
    try:
        return work(context)
    except JobCancelled:
        return Cancelled(message=f"job {run_id} was cancelled through the API")


def run_as_flow(context: JobContext, work: JobWork, operation: str) -> dict[str, Any] | None:
    """Run ``work`` as a flow run; raises `JobCancelled` when the job was cancelled."""
    from prefect.exceptions import CancelledRun

    from api.jobs import JobCancelled

    with _lock:
        _pending[context.run_id] = (work, context)
    try:
        return api_job(run_id=context.run_id, operation=operation)
    except CancelledRun:
        raise JobCancelled from None
    finally:
        with _lock:
            _pending.pop(context.run_id, None)
