"""CPU placement of a node's threads: the pure choice, the Placement bookkeeping (fake
/proc readers and a recording setter), and real pinning of a live node's threads."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import pytest

from tests.transport.helpers import WAIT
from transport import Node, Process
from transport.affinity import (
    Placement,
    check_cpu_affinity,
    choose_core,
    parse_cpu_affinity,
    unpinned,
)

TWO_CPUS = hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) >= 2


class _Always:
    """An rng whose every roll takes the move."""

    def random(self) -> float:
        return 0.0

    def choice(self, seq: Any) -> Any:
        return seq[0]


class _Never(_Always):
    def random(self) -> float:
        return 0.99


# --- the pure choice -----------------------------------------------------------------


def test_a_node_without_a_core_takes_the_least_busy_one() -> None:
    assert choose_core({0: 0.9, 1: 0.1, 2: 0.5}, ours=0.0, current=None) == 1


def test_a_first_choice_between_equally_idle_cores_is_spread_at_random() -> None:
    picks = {choose_core({0: 0.1, 1: 0.12}, 0.0, None, rng=random.Random(seed))
             for seed in range(40)}
    assert picks == {0, 1}


def test_a_node_leaves_a_core_that_others_keep_busy_for_an_idle_one() -> None:
    # our core is 90 % busy, 40 % of it ours: others use 50 %, core 1 only 10 %
    assert choose_core({0: 0.9, 1: 0.1}, ours=0.4, current=0, rng=_Always()) == 1


def test_a_node_stays_when_its_own_work_is_what_keeps_its_core_busy() -> None:
    assert choose_core({0: 0.95, 1: 0.1}, ours=0.9, current=0, rng=_Always()) == 0


def test_a_node_stays_when_the_other_core_is_not_idler_by_the_margin() -> None:
    assert choose_core({0: 0.6, 1: 0.45}, ours=0.1, current=0, margin=0.15,
                       rng=_Always()) == 0


def test_a_move_is_taken_only_on_a_lucky_roll_so_two_nodes_do_not_both_leave() -> None:
    assert choose_core({0: 0.9, 1: 0.1}, ours=0.4, current=0, rng=_Never()) == 0


def test_a_current_core_no_longer_allowed_is_left() -> None:
    assert choose_core({1: 0.3, 2: 0.2}, ours=0.0, current=0, rng=_Always()) == 2


def test_policies_parse_and_bad_ones_say_what_is_accepted() -> None:
    assert parse_cpu_affinity(None) == "auto"
    assert parse_cpu_affinity(" None ") == "none"
    assert parse_cpu_affinity("3") == 3
    with pytest.raises(ValueError, match="'auto', 'none' or a CPU number"):
        parse_cpu_affinity("fast")
    with pytest.raises(ValueError, match=">= 0"):
        parse_cpu_affinity("-1")
    assert check_cpu_affinity("auto") is None
    assert "CPU number" in (check_cpu_affinity("sometimes") or "")
    assert "not among" in (check_cpu_affinity("4096") or "")


# --- Placement bookkeeping with fake /proc readers -----------------------------------------


class _FakeProc:
    """Per-core busy/total ticks and per-thread ticks that a test advances."""

    def __init__(self, cores: int) -> None:
        self.cores = {c: [0, 0] for c in range(cores)}
        self.threads: dict[int, int] = {}
        self.pins: list[tuple[int, set[int]]] = []

    def tick(self, busy: dict[int, int], ours: int = 0, span: int = 100) -> None:
        for cpu, ticks in self.cores.items():
            ticks[0] += busy.get(cpu, 0)
            ticks[1] += span
        for tid in self.threads:
            self.threads[tid] += ours

    def placement(self, policy: str | int = "auto", rng: Any = None) -> Placement:
        return Placement(
            policy, rng=rng or _Always(),
            read_core_ticks=lambda: {c: (b, t) for c, (b, t) in self.cores.items()},
            read_thread_ticks=lambda tid: self.threads.get(tid),
            set_affinity=lambda tid, cpus: self.pins.append((tid, set(cpus))),
            allowed=set(self.cores))


def _adopt_in_thread(placement: Placement) -> int:
    """Adopt a short-lived thread (its id stays in the placement) and return its id."""
    seen: list[int] = []

    def run() -> None:
        placement.adopt()
        seen.append(threading.get_native_id())

    t = threading.Thread(target=run)
    t.start()
    t.join(WAIT)
    return seen[0]


def test_auto_pins_every_adopted_thread_to_the_least_busy_core_after_one_interval() -> None:
    proc = _FakeProc(2)
    placement = proc.placement()
    tids = {_adopt_in_thread(placement), _adopt_in_thread(placement)}
    proc.threads = dict.fromkeys(tids, 0)
    assert proc.pins == []  # nothing measured yet: the kernel places them
    placement.check(now=0.0)
    assert proc.pins == [] and placement.cpu is None
    proc.tick({0: 80, 1: 5})
    assert not placement.due(0.1) and placement.due(0.6)
    placement.check(now=0.6)
    assert placement.cpu == 1
    assert {tid for tid, cpus in proc.pins if cpus == {1}} == tids
    assert placement.moves == 0


def test_auto_moves_off_a_core_another_program_keeps_busy() -> None:
    proc = _FakeProc(2)
    placement = proc.placement()
    tid = _adopt_in_thread(placement)
    proc.threads = {tid: 0}
    placement.check(0.0)
    proc.tick({0: 10, 1: 40})
    placement.check(1.0)
    assert placement.cpu == 0
    proc.tick({0: 95, 1: 20}, ours=30)  # 65 % of core 0 is someone else's
    placement.check(2.0)
    assert placement.cpu == 1 and placement.moves == 1
    assert proc.pins[-1] == (tid, {1})
    proc.tick({0: 30, 1: 35}, ours=30)  # we are what keeps core 1 busy: stay
    placement.check(3.0)
    assert placement.cpu == 1 and placement.moves == 1


def test_a_fixed_cpu_pins_at_adoption_and_never_moves() -> None:
    proc = _FakeProc(2)
    placement = proc.placement(1)
    tid = _adopt_in_thread(placement)
    assert proc.pins == [(tid, {1})]
    assert not placement.due(100.0)


def test_none_reads_and_pins_nothing() -> None:
    proc = _FakeProc(2)
    placement = proc.placement("none")
    _adopt_in_thread(placement)
    assert not placement.due(100.0)
    assert proc.pins == [] and placement.describe()["threads"] == 0


def test_one_allowed_cpu_leaves_nothing_to_choose() -> None:
    proc = _FakeProc(1)
    assert proc.placement().policy == "none"


def test_a_fixed_cpu_outside_the_allowed_set_is_refused() -> None:
    with pytest.raises(ValueError, match="not among"):
        _FakeProc(2).placement(5)


def test_released_threads_are_no_longer_moved() -> None:
    proc = _FakeProc(2)
    placement = proc.placement(0)

    def run() -> None:
        placement.adopt()
        placement.release()

    t = threading.Thread(target=run)
    t.start()
    t.join(WAIT)
    assert placement.describe()["threads"] == 0


def test_unpinned_frees_the_thread_for_the_block_then_pins_it_again() -> None:
    proc = _FakeProc(2)
    placement = proc.placement(1)
    pins: list[list[tuple[int, set[int]]]] = []

    def run() -> None:
        placement.adopt()
        with unpinned():
            pins.append(list(proc.pins))
        pins.append(list(proc.pins))
        placement.release()

    t = threading.Thread(target=run)
    t.start()
    t.join(WAIT)
    inside, after = pins
    assert inside[-1][1] == {0, 1}
    assert after[-1][1] == {1}


def test_unpinned_is_a_no_op_on_a_thread_no_node_adopted() -> None:
    with unpinned():
        pass


# --- a live node ------------------------------------------------------------------------


class _Spawner(Process):
    """Reports its thread's CPUs and those of children spawned with and without unpinned()."""

    def report(self) -> dict[str, Any]:
        probe = [sys.executable, "-c", "import os; print(sorted(os.sched_getaffinity(0)))"]
        pinned = subprocess.run(probe, capture_output=True, text=True, timeout=WAIT).stdout
        with unpinned():
            free = subprocess.run(probe, capture_output=True, text=True, timeout=WAIT).stdout
        return {"thread": sorted(os.sched_getaffinity(0)), "child_pinned": pinned.strip(),
                "child_unpinned": free.strip()}


@pytest.mark.skipif(not TWO_CPUS, reason="needs sched_setaffinity and two CPUs")
def test_a_node_pinned_to_a_cpu_runs_its_io_and_actor_threads_there(
        make_node: Callable[..., Node]) -> None:
    allowed = sorted(os.sched_getaffinity(0))
    cpu = allowed[-1]
    node = make_node(cpu_affinity=cpu)
    ref = node.spawn(_Spawner)
    report = ref.proxy().report().get(timeout=WAIT)
    assert report["thread"] == [cpu]
    assert report["child_pinned"] == str([cpu])
    assert report["child_unpinned"] == str(allowed)
    io_tid = node._io.native_id
    assert io_tid is not None and os.sched_getaffinity(io_tid) == {cpu}
    assert node.describe()["placement"] == {"policy": cpu, "cpu": cpu, "moves": 0,
                                            "threads": 2}
    assert os.sched_getaffinity(0) == set(allowed)  # the caller's thread is left alone


@pytest.mark.skipif(not TWO_CPUS, reason="needs sched_setaffinity and two CPUs")
def test_the_environment_sets_the_policy_of_nodes_built_without_one(
        monkeypatch: pytest.MonkeyPatch, make_node: Callable[..., Node]) -> None:
    monkeypatch.setenv("MESETA_CPU_AFFINITY", "none")
    assert make_node().describe()["placement"]["policy"] == "none"
    monkeypatch.setenv("MESETA_CPU_AFFINITY", "0")
    assert make_node().describe()["placement"]["cpu"] == 0


def test_a_bad_policy_for_a_node_raises_a_clear_error() -> None:
    with pytest.raises(ValueError, match="cpu_affinity"):
        Node("127.0.0.1", 0, cpu_affinity="sometimes")
