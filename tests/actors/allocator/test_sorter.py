"""DRF sorter scenarios after Mesos' DRFSorterTest (DRF, WDRF, UpdateWeight,
AllocationCountTieBreak, HierarchicalAllocation) plus the tree edge cases."""

from __future__ import annotations

import pytest

from actors.allocator.sorter import DRFSorter
from actors.resources import Resources


def r(text: str) -> Resources:
    return Resources.parse(text)


def sorter_with(total: str = "cpus:100;mem:100") -> DRFSorter:
    sorter = DRFSorter()
    sorter.add_agent("agent", r(total))
    return sorter


def join(sorter: DRFSorter, client: str, allocation: str | None = None) -> None:
    sorter.add(client)
    sorter.activate(client)
    if allocation:
        sorter.allocated(client, "agent", r(allocation))


def test_drf_orders_clients_by_lowest_dominant_share() -> None:
    sorter = sorter_with()
    assert sorter.sort() == []
    join(sorter, "a", "cpus:5;mem:5")
    join(sorter, "b", "cpus:6;mem:6")
    assert sorter.sort() == ["a", "b"]
    join(sorter, "c", "cpus:1;mem:1")
    join(sorter, "d", "cpus:3;mem:1")
    assert sorter.sort() == ["c", "d", "a", "b"]

    sorter.remove("a")
    sorter.unallocated("b", "agent", r("cpus:4;mem:4"))
    assert sorter.sort() == ["c", "b", "d"]

    join(sorter, "e", "cpus:1;mem:5")
    sorter.remove_agent("agent")
    sorter.add_agent("agent", r("cpus:50;mem:100"))
    # b = .04, c = .02, d = .06, e = .05: the dominant resource is now cpus for most.
    assert sorter.sort() == ["c", "b", "e", "d"]

    sorter.remove_agent("agent")
    sorter.add_agent("agent", r("cpus:50;mem:200"))
    join(sorter, "f", "cpus:5;mem:1")
    sorter.allocated("c", "agent", r("mem:15"))
    assert sorter.sort() == ["e", "b", "d", "c", "f"]
    assert sorter.contains("b") and not sorter.contains("a")
    assert sorter.count() == 5

    sorter.deactivate("d")
    assert sorter.contains("d")
    assert sorter.sort() == ["e", "b", "c", "f"]
    sorter.activate("d")
    assert sorter.sort() == ["e", "b", "d", "c", "f"]


def test_wdrf_divides_share_by_weight() -> None:
    sorter = sorter_with()
    join(sorter, "a", "cpus:5;mem:5")
    sorter.add("b")
    sorter.activate("b")
    sorter.update_weight("b", 2)
    sorter.allocated("b", "agent", r("cpus:6;mem:6"))
    assert sorter.sort() == ["b", "a"]  # a = .05, b = .03
    join(sorter, "c", "cpus:4;mem:4")
    assert sorter.sort() == ["b", "c", "a"]
    sorter.add("d")
    sorter.activate("d")
    sorter.update_weight("d", 10)
    sorter.allocated("d", "agent", r("cpus:10;mem:20"))
    assert sorter.sort() == ["d", "b", "c", "a"]  # d = .02
    sorter.remove("b")
    assert sorter.sort() == ["d", "c", "a"]
    sorter.allocated("d", "agent", r("cpus:10;mem:25"))
    assert sorter.sort() == ["c", "d", "a"]  # d = .045
    sorter.add("e")
    sorter.activate("e")
    sorter.update_weight("e", 0.1)
    sorter.allocated("e", "agent", r("cpus:1;mem:1"))
    assert sorter.sort() == ["c", "d", "a", "e"]  # e = .1
    assert sorter.share("e") == pytest.approx(0.1)
    sorter.remove("a")
    assert sorter.sort() == ["c", "d", "e"]


def test_update_weight_flips_the_order() -> None:
    sorter = sorter_with()
    join(sorter, "a", "cpus:5;mem:5")
    join(sorter, "b", "cpus:6;mem:6")
    assert sorter.sort() == ["a", "b"]
    sorter.update_weight("b", 2)
    assert sorter.sort() == ["b", "a"]


def test_allocation_count_breaks_ties_between_equal_shares() -> None:
    sorter = sorter_with()
    for client in "abcde":
        sorter.add(client)
        sorter.activate(client)
    sorter.allocated("a", "agent", r("cpus:3;mem:3"))
    sorter.allocated("b", "agent", r("cpus:3;mem:3"))
    for _ in range(3):
        sorter.allocated("c", "agent", r("cpus:1;mem:1"))
    sorter.allocated("d", "agent", r("cpus:2;mem:2"))
    sorter.allocated("d", "agent", r("cpus:1;mem:1"))
    sorter.allocated("e", "agent", r("cpus:3;mem:3"))
    assert sorter.sort() == ["a", "b", "e", "d", "c"]

    # Unallocating does not reset the count.
    sorter.unallocated("c", "agent", r("cpus:3;mem:3"))
    assert sorter.sort() == ["c", "a", "b", "e", "d"]
    sorter.allocated("c", "agent", r("cpus:3;mem:3"))
    assert sorter.sort() == ["a", "b", "e", "d", "c"]

    # Neither does deactivating and reactivating.
    sorter.deactivate("c")
    sorter.activate("c")
    assert sorter.sort() == ["a", "b", "e", "d", "c"]

    # Allocations to an inactive client count too.
    sorter.deactivate("a")
    sorter.unallocated("a", "agent", r("cpus:1;mem:3"))
    sorter.allocated("a", "agent", r("cpus:1;mem:3"))
    assert sorter.sort() == ["b", "e", "d", "c"]
    sorter.activate("a")
    assert sorter.sort() == ["b", "e", "a", "d", "c"]


def test_hierarchical_allocation_compares_subtrees_by_their_total_share() -> None:
    sorter = sorter_with()
    for client in ("a", "b/c", "b/d"):
        sorter.add(client)
        sorter.activate(client)
    assert sorter.count() == 3
    assert not sorter.contains("b") and sorter.contains("b/c")
    assert sorter.sort() == ["a", "b/c", "b/d"]

    sorter.allocated("a", "agent", r("cpus:6;mem:6"))
    assert sorter.sort() == ["b/c", "b/d", "a"]
    sorter.allocated("b/c", "agent", r("cpus:4;mem:4"))
    sorter.allocated("b/d", "agent", r("cpus:3;mem:3"))
    # b = .07 > a = .06; inside b, d = .03 < c = .04.
    assert sorter.sort() == ["a", "b/d", "b/c"]
    assert sorter.allocation_on("b/c", "agent") == r("cpus:4;mem:4")
    assert sorter.allocation_quantities("b/d") == {"cpus": 3000, "mem": 3000}
    assert sorter.allocation_quantities() == {"cpus": 13000, "mem": 13000}

    sorter.allocated("a", "agent", r("cpus:2;mem:2"))
    assert sorter.sort() == ["b/d", "b/c", "a"]

    sorter.add("b/e/f")
    sorter.activate("b/e/f")
    assert not sorter.contains("b/e")
    assert sorter.sort() == ["b/e/f", "b/d", "b/c", "a"]
    sorter.allocated("b/e/f", "agent", r("cpus:3.5;mem:3.5"))
    assert sorter.sort() == ["a", "b/d", "b/e/f", "b/c"]

    sorter.remove("b/e/f")
    assert sorter.count() == 3
    assert sorter.sort() == ["b/d", "b/c", "a"]

    sorter.update("b/c", "agent", r("cpus:4;mem:4"), r("cpus:1;mem:1"))
    assert sorter.sort() == ["b/c", "b/d", "a"]


def test_client_that_is_also_a_parent_lives_in_a_virtual_leaf() -> None:
    sorter = sorter_with()
    join(sorter, "a", "cpus:10;mem:10")
    join(sorter, "a/b", "cpus:1;mem:1")
    join(sorter, "z", "cpus:5;mem:5")
    # Subtree a = .11 > z = .05; inside a the child b (.01) comes before a itself (.10).
    assert sorter.sort() == ["z", "a/b", "a"]
    sorter.remove("a/b")
    assert sorter.sort() == ["z", "a"]
    assert sorter.allocation_on("a", "agent") == r("cpus:10;mem:10")
    sorter.deactivate("a")
    assert sorter.sort() == ["z"]


def test_weight_of_an_internal_node_scales_the_whole_subtree() -> None:
    sorter = sorter_with()
    join(sorter, "eng/web", "cpus:10;mem:10")
    join(sorter, "ops", "cpus:6;mem:6")
    assert sorter.sort() == ["ops", "eng/web"]
    sorter.update_weight("eng", 2)
    assert sorter.sort() == ["eng/web", "ops"]


def test_fair_sharing_excluded_resources_do_not_count() -> None:
    sorter = DRFSorter(fair_sharing_excluded_resource_names={"gpus"})
    sorter.add_agent("agent", r("cpus:100;mem:100;gpus:2"))
    join(sorter, "a", "cpus:1;mem:1;gpus:2")
    join(sorter, "b", "cpus:5;mem:5")
    assert sorter.sort() == ["a", "b"]
    assert sorter.share("a") == pytest.approx(0.01)


def test_sort_is_cached_and_tracks_incremental_changes() -> None:
    sorter = sorter_with("cpus:1000;mem:1000")
    for i in range(50):
        join(sorter, f"fw{i:02d}")
    first = sorter.sort()
    assert first == sorted(first)
    sorter.allocated("fw00", "agent", r("cpus:1;mem:1"))
    assert sorter.sort()[-1] == "fw00"
    assert list(sorter.iter_sorted()) == sorter.sort()
    sorter.allocated("fw01", "agent", r("cpus:2;mem:1"))
    assert sorter.sort()[-2:] == ["fw00", "fw01"]


def test_unallocating_more_than_allocated_raises() -> None:
    sorter = sorter_with()
    join(sorter, "a", "cpus:1;mem:1")
    with pytest.raises(ValueError):
        sorter.unallocated("a", "agent", r("cpus:2"))
    with pytest.raises(KeyError):
        sorter.allocated("nobody", "agent", r("cpus:1"))
