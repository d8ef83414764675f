"""``ItemTracker``: assignment, late results sent again, lost executors, duplicates (a
manual clock)."""

from __future__ import annotations

from frameworks.mapreduce.tracker import ItemTracker


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_assign_hands_out_at_most_the_free_slots_in_order() -> None:
    tracker = ItemTracker(range(5), timeout=10, now=Clock())
    assert tracker.assign("e1", 2) == [0, 1]
    assert tracker.assign("e2", 2) == [2, 3]
    assert tracker.load("e1") == 2 and tracker.load("e3") == 0
    assert not tracker.only_results_outstanding
    assert tracker.assign("e3", 2) == [4]
    assert tracker.only_results_outstanding and not tracker.done


def test_a_late_result_sends_its_item_again_first_in_line() -> None:
    clock = Clock()
    tracker = ItemTracker(range(4), timeout=10, now=clock)
    tracker.assign("e1", 2)
    clock.t += 5
    tracker.assign("e2", 1)
    clock.t += 5  # e1's items are due, e2's not yet
    assert tracker.expire() == [0, 1]
    assert list(tracker.pending) == [0, 1, 3] and tracker.load("e1") == 0
    assert tracker.expire() == []
    assert tracker.assign("e2", 1) == [0]
    assert tracker.reassigned == 2


def test_a_lost_executors_items_are_reassigned_and_a_late_copy_counts_once() -> None:
    tracker = ItemTracker(range(3), timeout=10, now=Clock())
    tracker.assign("e1", 2)
    tracker.assign("e2", 1)
    assert tracker.lose("e1") == [0, 1]
    assert tracker.assign("e2", 5) == [0, 1]
    # The lost executor's result for item 0 arrived after all: first result wins.
    assert tracker.complete(0, "from e1")
    assert not tracker.complete(0, "from e2")
    assert tracker.duplicates == 1
    assert tracker.complete(1, "b") and tracker.complete(2, "c")
    assert not tracker.complete(7, "unknown") and tracker.duplicates == 1
    assert tracker.done and tracker.ordered_results() == ["from e1", "b", "c"]
    assert not tracker.outstanding and not tracker.pending


def test_a_result_for_a_queued_item_takes_it_out_of_the_queue() -> None:
    clock = Clock()
    tracker = ItemTracker(range(2), timeout=1, now=clock)
    tracker.assign("e1", 2)
    clock.t += 2
    tracker.expire()
    assert tracker.complete(1, 42)  # the late result came after all
    assert list(tracker.pending) == [0]
    assert tracker.assign("e1", 2) == [0]
