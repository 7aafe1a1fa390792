"""One BLAS thread while the tagger decodes.

Decoding multiplies thousands of small matrices (a batch's sequences × labels by labels ×
labels, one per token step); OpenBLAS would split the larger of them over its threads, and on
a shared machine the extra threads mostly spin: more CPU for the same work. Each product is
computed the same way on one thread (the split is over rows, never over the sums), so the
marginals are the same floats.

Limits are process-wide, so concurrent decodes share one: the first to enter sets it, the last
to leave restores what was there (two `threadpool_limits` blocks left out of order would
leave the process at one thread).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_LOCK = threading.Lock()
_state: dict[str, Any] = {"users": 0, "limiter": None, "controller": None}


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """BLAS on one thread inside the block (re-entrant, thread-safe)."""
    with _LOCK:
        if _state["users"] == 0:
            if _state["controller"] is None:
                from threadpoolctl import ThreadpoolController

                # Finding the loaded libraries costs ~2 ms; setting a limit, ~10 µs.
                _state["controller"] = ThreadpoolController()
            _state["limiter"] = _state["controller"].limit(limits=1, user_api="blas")
        _state["users"] += 1
    try:
        yield
    finally:
        with _LOCK:
            _state["users"] -= 1
            if _state["users"] == 0:
                _state["limiter"].restore_original_limits()
                _state["limiter"] = None
