"""What every skuflow task shares: retry only what may succeed next time, cache nothing.

Data lives in the store and stage marks make every batch idempotent, so Prefect's result
cache would only duplicate it; a retry is worth it only for a passing fault (a dropped
connection, a locked database, a connector's 5xx, an LLM's 429), never for bad input. Our
own errors say which they are with `SkuflowError.transient`; the store's driver errors are
sorted here.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError

from catalog.errors import SkuflowError

TASK_OPTIONS: dict[str, Any] = {"retries": 2, "retry_delay_seconds": [2, 10]}


def is_transient_failure(task: Any, task_run: Any, state: Any) -> bool:
    """Retry condition for Prefect tasks (``retry_condition_fn``)."""
    try:
        state.result()
    except SkuflowError as exc:
        return exc.transient
    except OperationalError:
        return True
    except DBAPIError as exc:
        return bool(exc.connection_invalidated)
    except Exception:
        return False
    return False
