"""Serve skuflow's deployments from one process, as declared in `prefect.yaml`.

`prefect.yaml` is the one list of deployments: `prefect deploy --all` registers them for
workers on many machines, and this module turns the same entries (entrypoint, parameters,
cron and interval schedules with their own parameters, event triggers, concurrency limit,
tags) into `RunnerDeployment`s for
`prefect.serve` — the single-machine path behind `skuflow serve`, no work pool needed.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from prefect import Flow, serve
from prefect.deployments.runner import RunnerDeployment
from prefect.events.schemas.deployment_triggers import DeploymentTriggerTypes
from prefect.schedules import Cron, Interval, Schedule
from pydantic import TypeAdapter

PROJECT_DIR = Path(__file__).resolve().parent.parent
PREFECT_YAML = PROJECT_DIR / "prefect.yaml"

_triggers = TypeAdapter(DeploymentTriggerTypes)


def deployment_specs(path: Path = PREFECT_YAML) -> list[dict[str, Any]]:
    """The `deployments:` entries of a prefect.yaml."""
    with path.open(encoding="utf-8") as handle:
        return list(yaml.safe_load(handle).get("deployments") or [])


def load_flow(entrypoint: str) -> Flow:
    """The flow object of ``flows/x.py:name`` (imported as a module of this project)."""
    file, _, name = entrypoint.partition(":")
    module = importlib.import_module(file.removesuffix(".py").replace("/", "."))
    return getattr(module, name)


def runner_deployment(spec: dict[str, Any]) -> RunnerDeployment:
    """One prefect.yaml deployment entry as a `RunnerDeployment`."""
    name = spec["name"]
    schedules = [_schedule(s) for s in spec.get("schedules") or []]
    triggers = [
        _triggers.validate_python({"name": f"{name}__automation_{i}", **trigger})
        for i, trigger in enumerate(spec.get("triggers") or [], start=1)
    ]
    return load_flow(spec["entrypoint"]).to_deployment(
        name=name,
        description=spec.get("description"),
        parameters=spec.get("parameters") or {},
        schedules=schedules or None,
        triggers=triggers or None,
        concurrency_limit=spec.get("concurrency_limit"),
        tags=spec.get("tags") or None,
    )


def _schedule(entry: dict[str, Any]) -> Schedule:
    """A prefect.yaml schedule entry (cron or interval seconds, with its own parameters)."""
    options = {
        "timezone": entry.get("timezone"),
        "active": entry.get("active", True),
        "parameters": entry.get("parameters") or None,
    }
    if "interval" in entry:
        return Interval(float(entry["interval"]), **options)
    return Cron(entry["cron"], **options)


def runner_deployments(
    names: Iterable[str] | None = None, path: Path = PREFECT_YAML
) -> list[RunnerDeployment]:
    """The deployments of prefect.yaml (only ``names`` when given)."""
    wanted = set(names) if names else None
    specs = [s for s in deployment_specs(path) if wanted is None or s["name"] in wanted]
    if wanted is not None:
        missing = wanted - {s["name"] for s in specs}
        if missing:
            raise ValueError(f"no deployment(s) {sorted(missing)} in {path}")
    return [runner_deployment(spec) for spec in specs]


def serve_all(
    names: Iterable[str] | None = None, limit: int | None = None, path: Path = PREFECT_YAML
) -> None:
    """Serve the deployments until interrupted; runs execute in subprocesses of this one."""
    serve(*runner_deployments(names, path=path), limit=limit)


if __name__ == "__main__":
    serve_all()
