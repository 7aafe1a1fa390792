"""The task runner a run's batches execute on, built in one place from the settings.

`threads` (the default) runs batches on a small thread pool in the flow's own process;
`dask` hands them to prefect-dask's `DaskTaskRunner`: a running Dask scheduler when
`SKUFLOW_DASK_ADDRESS` names one (workers on as many machines as a team starts), else a
`LocalCluster` of `SKUFLOW_DASK_WORKERS` worker processes started for the run and stopped
after it. Every door (the CLI, the served deployments, a caller) gets its runner here and
applies it with `flow.with_options(task_runner=...)`, so a flow's code never names one.

Models load once per worker process: the tasks receive paths and keys, and the loaders
(`taxonomy.assign.cached_classifier`, `enrichment.learned.store.load_extractor`, ...) cache by
path in the process that runs them.
"""

from __future__ import annotations

import sys
from contextlib import ExitStack
from functools import cache
from typing import Any, Literal

from prefect.settings import PREFECT_API_URL, temporary_settings
from prefect.task_runners import ThreadPoolTaskRunner

from catalog.settings import get_settings

RunnerKind = Literal["threads", "dask"]


def build_task_runner(kind: RunnerKind | None = None, *, workers: int | None = None) -> Any:
    """The runner for `kind` (the `SKUFLOW_TASK_RUNNER` setting when None).

    Args:
        workers: threads of the `threads` runner, or worker processes of the local Dask
            cluster; the settings' `SKUFLOW_THREADS` / `SKUFLOW_DASK_WORKERS` when None.
            Ignored when `SKUFLOW_DASK_ADDRESS` names a scheduler (its workers are what they
            are).
    """
    settings = get_settings()
    kind = kind or settings.task_runner
    if kind == "threads":
        return ThreadPoolTaskRunner(max_workers=workers or settings.threads)
    if kind != "dask":
        raise ValueError(f"unknown task runner {kind!r}: use 'threads' or 'dask'")
    runner = _dask_runner_class()
    if settings.dask_address:
        return runner(address=settings.dask_address)
    return runner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": workers or settings.dask_workers,
            # one batch per process: the models and the batch are the memory, not threads
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
        },
    )


def with_task_runner(flow: Any, kind: RunnerKind | None = None, *, workers: int | None = None):
    """`flow` set to run its tasks on `build_task_runner(kind, workers=workers)`."""
    return flow.with_options(task_runner=build_task_runner(kind, workers=workers))


class SettingsTaskRunner(ThreadPoolTaskRunner):
    """The runner the settings name, resolved when each flow run starts.

    Prefect duplicates a flow's runner at the start of every run; this one duplicates into
    `build_task_runner()`. So a flow decorated with it honours `SKUFLOW_TASK_RUNNER` however
    it is started — a deployment's worker or `skuflow serve` loads the flow from its
    entrypoint and never sees a door's `with_options`.
    """

    def duplicate(self) -> Any:
        return build_task_runner()


@cache
def _dask_runner_class() -> type:
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "the dask task runner needs the `dask` extra: pip install 'skuflow[dask]'"
        ) from exc

    class ServerSharingDaskTaskRunner(DaskTaskRunner):
        """prefect-dask's runner, whose workers report to the flow's own Prefect server.

        Without `PREFECT_API_URL` a flow runs on Prefect's temporary local server, which
        lives in a subprocess of the flow's process; a worker handed that empty setting
        would start a temporary server of its own per process (slow, and its task runs
        invisible to the flow's). So, while the runner is open, the temporary server's
        address is the setting the tasks' context carries to the workers.
        """

        def __enter__(self) -> Any:
            self._api_url = ExitStack()
            url = _temporary_server_url()
            if url is not None:
                self._api_url.enter_context(temporary_settings({PREFECT_API_URL: url}))
            try:
                return super().__enter__()
            except BaseException:
                self._api_url.close()
                raise

        def __exit__(self, *args: Any) -> None:
            try:
                super().__exit__(*args)
            finally:
                self._api_url.close()

    return ServerSharingDaskTaskRunner


def _temporary_server_url() -> str | None:
    """The running temporary Prefect server's API address, when that is what this process
    uses (no `PREFECT_API_URL`); None otherwise."""
    if PREFECT_API_URL.value():
        return None
    server_module = sys.modules.get("prefect.server.api.server")
    if server_module is None:
        return None
    server = server_module.SubprocessASGIServer()
    return server.api_url if server.running else None
