"""Fair sending: one organization's slow endpoints must not hold up the others' deliveries.

Deliveries wait in one queue per organization; worker threads take from the organizations in
turn (round robin), and at most ``per_key`` deliveries of one organization are in flight at
once. An organization whose receiver hangs until the timeout, and then again on every retry,
ties up only its own ``per_key`` slots: every other organization's deliveries keep going
through the remaining workers, in the order they came. Both senders use it: the API's job
notifications (`api.webhooks.WebhookSender`) and the change-event flow
(`catalog.webhooks.change_delivery`).
"""

from __future__ import annotations

import logging
import threading
from collections import Counter, deque
from collections.abc import Callable, Hashable
from typing import Any

log = logging.getLogger("skuflow.webhooks")


class FairDispatcher:
    """Run ``send(item)`` for submitted items, fairly across keys (organizations)."""

    def __init__(
        self,
        send: Callable[[Any], object],
        *,
        workers: int = 8,
        per_key: int = 2,
        name: str = "skuflow-hook",
    ) -> None:
        """
        Args:
            send: Called once per submitted item, on a worker thread; what it raises is logged.
            workers: Threads in all (started on the first submit).
            per_key: Items of one key in flight at once.
            name: Thread name prefix.
        """
        self._send = send
        self._workers = max(1, workers)
        self._per_key = max(1, per_key)
        self._name = name
        self._queues: dict[Hashable, deque[Any]] = {}
        self._ring: deque[Hashable] = deque()
        """Keys with queued items, in the order they get their next turn."""
        self._busy: Counter[Hashable] = Counter()
        self._unfinished = 0
        self._closed = False
        self._threads: list[threading.Thread] = []
        self._cond = threading.Condition()

    def submit(self, key: Hashable, item: Any) -> None:  # whatever send takes
        """Queue ``item`` behind the other items of ``key``."""
        with self._cond:
            if self._closed:
                raise RuntimeError("the dispatcher is shut down")
            queue = self._queues.get(key)
            if queue is None:
                queue = self._queues[key] = deque()
                self._ring.append(key)
            queue.append(item)
            self._unfinished += 1
            if not self._threads:
                for number in range(self._workers):
                    thread = threading.Thread(
                        target=self._work, name=f"{self._name}-{number}", daemon=True
                    )
                    thread.start()
                    self._threads.append(thread)
            self._cond.notify_all()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every submitted item has been sent; False if ``timeout`` passed first."""
        with self._cond:
            return self._cond.wait_for(lambda: self._unfinished == 0, timeout)

    def shutdown(self, wait: bool = True) -> None:
        """Stop taking items; with ``wait``, send what is queued first, else drop it (it stays
        pending in the delivery log, for the next run)."""
        with self._cond:
            self._closed = True
            if not wait:
                self._unfinished -= sum(len(q) for q in self._queues.values())
                self._queues.clear()
                self._ring.clear()
            self._cond.notify_all()
        if wait:
            for thread in self._threads:
                thread.join()

    def _take(self) -> tuple[Hashable, Any] | None:
        with self._cond:
            while True:
                for _ in range(len(self._ring)):
                    key = self._ring[0]
                    self._ring.rotate(-1)
                    if self._busy[key] >= self._per_key:
                        continue
                    queue = self._queues[key]
                    item = queue.popleft()
                    if not queue:
                        del self._queues[key]
                        self._ring.remove(key)
                    self._busy[key] += 1
                    return key, item
                if self._closed and not self._queues:
                    return None
                self._cond.wait()

    def _work(self) -> None:
        while (taken := self._take()) is not None:
            key, item = taken
            try:
                self._send(item)
            except Exception:  # one delivery must not stop the worker
                log.exception("sending webhook delivery %s failed", item)
            finally:
                with self._cond:
                    self._busy[key] -= 1
                    if not self._busy[key]:
                        del self._busy[key]
                    self._unfinished -= 1
                    self._cond.notify_all()
