"""Pause and resume the schedules of skuflow's deployments (what the API's auto-enrichment
pause/resume calls).

`pause_all()` deactivates every active schedule of the deployments tagged `skuflow` and
remembers which ones it paused in a Prefect Variable; `resume_all()` reactivates exactly
those, so a schedule a team keeps inactive on purpose (e.g. `export-nightly` before its
destination block is saved) stays inactive. Both are idempotent. They talk to the Prefect
server in PREFECT_API_URL; triggers (event-driven runs) are not affected.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterTags
from prefect.client.schemas.sorting import DeploymentSort
from prefect.exceptions import ObjectNotFound
from prefect.variables import Variable

TAG = "skuflow"
MAX_DEPLOYMENTS = 200
PAUSED_VARIABLE = "skuflow_paused_schedules"


@dataclass(frozen=True)
class ScheduleState:
    deployment: str
    schedule_id: UUID
    active: bool


def _tagged(client, tag: str) -> list:
    # an explicit limit and order: every tagged deployment, in a stable order
    return client.read_deployments(
        deployment_filter=DeploymentFilter(tags=DeploymentFilterTags(all_=[tag])),
        limit=MAX_DEPLOYMENTS,
        sort=DeploymentSort.NAME_ASC,
    )


def schedule_states(tag: str = TAG) -> list[ScheduleState]:
    """Every schedule of the tagged deployments and whether it is active."""
    with get_client(sync_client=True) as client:
        deployments = _tagged(client, tag)
        return [
            ScheduleState(f"{d.name}", s.id, s.active)
            for d in deployments
            for s in client.read_deployment_schedules(d.id)
        ]


def pause_all(tag: str = TAG) -> list[str]:
    """Deactivate the active schedules; returns the deployments paused."""
    paused: list[str] = []
    with get_client(sync_client=True) as client:
        remembered = set(Variable.get(PAUSED_VARIABLE, default=[]) or [])
        for deployment in _tagged(client, tag):
            for schedule in client.read_deployment_schedules(deployment.id):
                if schedule.active:
                    client.update_deployment_schedule(deployment.id, schedule.id, active=False)
                    remembered.add(f"{deployment.id}/{schedule.id}")
                    paused.append(deployment.name)
        Variable.set(PAUSED_VARIABLE, sorted(remembered), overwrite=True)
    return paused


def resume_all() -> list[str]:
    """Reactivate the schedules `pause_all` paused; returns the deployments resumed."""
    resumed: list[str] = []
    remembered = Variable.get(PAUSED_VARIABLE, default=[]) or []
    with get_client(sync_client=True) as client:
        for entry in remembered:
            deployment_id, schedule_id = (UUID(part) for part in entry.split("/"))
            try:
                deployment = client.read_deployment(deployment_id)
                client.update_deployment_schedule(deployment_id, schedule_id, active=True)
            except ObjectNotFound:  # deleted since the pause
                continue
            resumed.append(deployment.name)
    Variable.set(PAUSED_VARIABLE, [], overwrite=True)
    return resumed
