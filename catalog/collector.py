"""Python's cyclic garbage collector held off while a batch is worked on.

A batch makes hundreds of thousands of container objects — records' dicts, evidence, results,
proposals, tokens — none of them in a reference cycle: reference counting frees every one.
The collector does not know that. Each time enough new objects have survived it walks every
tracked object in the process, and a worker holding its models, its imports and a batch holds
half a million: in a 100k-record onboard that was 71 full collections, 20 s of a 120 s run
(issue 16), 14 s of them inside enrich's 20 batches. With the collector off for the batch the
same objects are freed as before, by their counts; the collector is back on afterwards and
finds whatever cycles a batch did leave at its next run.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off for the block (or, as ``@collector_paused()``, for each call), back on
    afterwards if it was on. Nested and concurrent uses are safe: only the use that turned it
    off turns it on again, so a thread's batch never leaves it off for good."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
