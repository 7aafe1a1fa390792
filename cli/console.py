"""The one Rich console the CLI prints through, and how errors reach the user."""

from __future__ import annotations

import os

from rich.console import Console

console = Console()
errors = Console(stderr=True)


def quiet_prefect() -> None:
    """Keep Prefect's own logs out of the way: the CLI reports progress, outcomes and errors
    itself (`skuflow -v ...` or PREFECT_LOGGING_LEVEL shows Prefect's logs again)."""
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
    # The temporary server needs ~10 s on an idle 2-core machine, far more on a busy one.
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
