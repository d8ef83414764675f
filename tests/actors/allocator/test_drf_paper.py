"""The worked example of the DRF paper (Ghodsi et al., NSDI 2011, section 4 / Table 1),
replayed task by task with the DRF sorter (progressive filling).

9 CPUs and 18 GB; user A runs tasks of <1 CPU, 4 GB>, user B tasks of <3 CPUs, 1 GB>.
DRF ends with A running 3 tasks and B 2, both at a dominant share of 2/3.
"""

from __future__ import annotations

from fractions import Fraction

from actors.allocator.sorter import DRFSorter
from actors.resources import Resources

CLUSTER = Resources.parse("cpus:9;mem:18")
TASKS = {"A": Resources.parse("cpus:1;mem:4"), "B": Resources.parse("cpus:3;mem:1")}


def new_sorter() -> DRFSorter:
    sorter = DRFSorter()
    sorter.add_agent("cluster", CLUSTER)
    for user in TASKS:
        sorter.add(user)
        sorter.activate(user)
    return sorter


def progressive_filling(sorter: DRFSorter, free: Resources) -> tuple[list[str], Resources]:
    """Launch one task at a time for the user with the lowest dominant share."""
    picks = []
    while True:
        for user in sorter.sort():
            if free.contains(TASKS[user]):
                sorter.allocated(user, "cluster", TASKS[user])
                free = free - TASKS[user]
                picks.append(user)
                break
        else:
            return picks, free


def test_drf_paper_table_1_is_reproduced_step_by_step() -> None:
    sorter = new_sorter()
    # Row 1: both users are at 0; the paper breaks the tie towards B.
    sorter.allocated("B", "cluster", TASKS["B"])
    free = CLUSTER - TASKS["B"]
    assert Fraction(sorter.share("B")).limit_denominator(100) == Fraction(1, 3)
    shares = []
    picks = []
    for _ in range(4):  # Rows 2-5 are chosen by the sorter.
        user = next(u for u in sorter.sort() if free.contains(TASKS[u]))
        sorter.allocated(user, "cluster", TASKS[user])
        free = free - TASKS[user]
        picks.append(user)
        shares.append(Fraction(sorter.share(user)).limit_denominator(100))
    assert picks == ["A", "A", "B", "A"]
    assert shares == [Fraction(2, 9), Fraction(4, 9), Fraction(2, 3), Fraction(2, 3)]
    # Nobody's next task fits: CPUs are exhausted, 4 GB of memory stay idle.
    assert not any(free.contains(task) for task in TASKS.values())
    assert free == Resources.parse("mem:4")
    assert sorter.allocation_on("A", "cluster") == Resources.parse("cpus:3;mem:12")
    assert sorter.allocation_on("B", "cluster") == Resources.parse("cpus:6;mem:2")


def test_drf_progressive_filling_ends_with_three_and_two_tasks_at_two_thirds() -> None:
    sorter = new_sorter()
    picks, free = progressive_filling(sorter, CLUSTER)
    # The first pick is a tie at share 0, broken by name here ("A" < "B").
    assert picks == ["A", "B", "A", "B", "A"]
    assert picks.count("A") == 3 and picks.count("B") == 2
    assert Fraction(sorter.share("A")).limit_denominator(100) == Fraction(2, 3)
    assert Fraction(sorter.share("B")).limit_denominator(100) == Fraction(2, 3)
    assert free == Resources.parse("mem:4")
