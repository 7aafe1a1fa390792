"""The cyclic garbage collector is off while a batch is worked on, and always back on after."""

from __future__ import annotations

import gc
import threading

import pytest

from catalog.collector import collector_paused


@pytest.fixture(autouse=True)
def _collector_on():
    gc.enable()
    yield
    gc.enable()


def test_a_paused_call_runs_with_the_collector_off_and_leaves_it_on() -> None:
    seen = []

    @collector_paused()
    def batch() -> str:
        seen.append(gc.isenabled())
        return "done"

    assert batch() == "done"
    assert seen == [False]
    assert gc.isenabled()


def test_an_error_in_the_batch_turns_the_collector_back_on() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("bad row")
    assert gc.isenabled()


def test_nested_pauses_leave_it_off_until_the_outer_one_ends() -> None:
    with collector_paused():
        with collector_paused():
            pass
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_the_caller_turned_off_stays_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_overlapping_batches_on_threads_leave_the_collector_on() -> None:
    """The threads task runner runs batches at once: whichever ends last, none leaves the
    collector off for the rest of the process."""
    first_in, second_done = threading.Event(), threading.Event()

    def first() -> None:
        with collector_paused():
            first_in.set()
            second_done.wait(5)

    def second() -> None:
        first_in.wait(5)
        with collector_paused():
            pass
        second_done.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert gc.isenabled()


def test_cycles_made_while_paused_are_collected_once_it_is_back_on() -> None:
    class Node:
        pass

    with collector_paused():
        a, b = Node(), Node()
        a.other, b.other = b, a
        del a, b
    assert gc.collect() >= 2
