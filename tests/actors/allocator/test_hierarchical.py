"""Hierarchical allocator scenarios after Mesos' HierarchicalAllocatorTest, driven by
explicit calls and a manual clock (see conftest.Harness)."""

from __future__ import annotations

import pytest
from conftest import Harness, r

from actors.allocator.filters import refusal_timeout


def test_unreserved_drf_offers_each_new_agent_to_the_lowest_share_role(harness: Harness) -> None:
    a = harness.allocator
    a.add_agent("agent1", r("cpus:2;mem:1024"))
    a.add_framework("fw1", ["role1"])
    assert harness.run() == [("fw1", "role1", "agent1", r("cpus:2;mem:1024"))]
    a.add_framework("fw2", ["role2"])
    a.add_agent("agent2", r("cpus:1;mem:512"))
    assert harness.run() == [("fw2", "role2", "agent2", r("cpus:1;mem:512"))]
    a.add_agent("agent3", r("cpus:3;mem:2048"))
    assert harness.run() == [("fw2", "role2", "agent3", r("cpus:3;mem:2048"))]
    a.add_framework("fw3", ["role1"])
    a.add_agent("agent4", r("cpus:4;mem:4096"))
    # role1 (0.2) is below role2 (0.4); inside role1, fw3 (0) is below fw1.
    assert harness.run() == [("fw3", "role1", "agent4", r("cpus:4;mem:4096"))]
    a.add_framework("fw4", ["role1"])
    a.add_agent("agent5", r("cpus:1;mem:512"))
    # fw4 has nothing, but its role is now above role2: role shares decide first.
    assert harness.run() == [("fw2", "role2", "agent5", r("cpus:1;mem:512"))]
    shares = a.metrics()
    assert shares["allocator/mesos/roles/role1/shares/dominant"] == pytest.approx(
        5120 / 8192
    )  # mem is dominant


def test_reserved_drf_offers_reservations_only_to_their_role(harness: Harness) -> None:
    a = harness.allocator
    a.add_framework("fw1", ["role1"])
    a.add_framework("fw2", ["role2"])
    a.add_agent("agent1", r("cpus(role1):2;mem(role1):1024;cpus:1;mem:512"))
    offers = harness.run()
    # role1 and role2 start equal ("role1" sorts first) and role1 takes everything.
    assert offers == [("fw1", "role1", "agent1", r("cpus(role1):2;mem(role1):1024;cpus:1;mem:512"))]
    a.recover_resources("fw1", "agent1", r("cpus(role1):2;mem(role1):1024;cpus:1;mem:512"))
    a.suppress_offers("fw1")
    # With role1 out of the picture, role2 gets only the unreserved part.
    assert harness.tick() == [("fw2", "role2", "agent1", r("cpus:1;mem:512"))]


def test_reservations_of_a_role_are_offered_to_its_subroles_not_its_parent(
    harness: Harness,
) -> None:
    a = harness.allocator
    a.add_framework("web", ["eng/web"])
    a.add_agent("agent1", r("cpus(eng):2;mem(eng):64"))
    assert harness.run() == [("web", "eng/web", "agent1", r("cpus(eng):2;mem(eng):64"))]
    a.add_framework("parent", ["eng"])
    a.add_agent("agent2", r("cpus(eng/web):2;mem(eng/web):64"))
    assert harness.run() == [("web", "eng/web", "agent2", r("cpus(eng/web):2;mem(eng/web):64"))]


def test_coarse_grained_gives_each_framework_a_whole_agent(harness: Harness) -> None:
    a = harness.allocator
    a.add_agent("agent1", r("cpus:2;mem:1024;ports:[31000-32000]"))
    a.add_agent("agent2", r("cpus:2;mem:1024;ports:[31000-32000]"))
    a.add_framework("fw1", ["role1"])
    a.add_framework("fw2", ["role2"])
    offers = harness.run()
    assert sorted((fw, agent) for fw, _, agent, _ in offers) in (
        [("fw1", "agent1"), ("fw2", "agent2")],
        [("fw1", "agent2"), ("fw2", "agent1")],
    )
    assert all(res == r("cpus:2;mem:1024;ports:[31000-32000]") for *_, res in offers)


def test_same_share_fairness_alternates_between_equal_frameworks(harness: Harness) -> None:
    a = harness.allocator
    a.add_agent("agent1", r("cpus:2;mem:1024"))
    a.add_framework("fw1", ["*"])
    a.add_framework("fw2", ["*"])
    harness.run()  # whatever the first run offered is recovered below
    a.recover_resources(*_holder(harness), "agent1", r("cpus:2;mem:1024"))
    counts = {"fw1": 0, "fw2": 0}
    for _ in range(10):
        ((fw, _role, agent, res),) = harness.tick()
        counts[fw] += 1
        a.recover_resources(fw, agent, res)
    assert counts == {"fw1": 5, "fw2": 5}


def _holder(harness: Harness) -> list[str]:
    held = harness.allocator.offered_or_allocated("agent1")
    return [framework_id for framework_id, _ in held]


def test_offer_filter_suppresses_reoffer_until_it_expires(harness: Harness) -> None:
    a = harness.allocator
    a.add_agent("agent1", r("cpus:2;mem:1024"))
    a.add_framework("fw1", ["role1"])
    [(_, _, _, res)] = harness.run()
    a.recover_resources("fw1", "agent1", res, refuse_seconds=10)
    assert harness.tick(1) == []
    assert harness.tick(8) == []
    assert a.metrics()["allocator/mesos/offer_filters/roles/role1/active"] == 1
    assert harness.tick(1) == [("fw1", "role1", "agent1", res)]


def test_offer_filter_does_not_cover_more_than_was_refused(harness: Harness) -> None:
    a = harness.allocator
    a.add_agent("agent1", r("cpus:2;mem:1024"))
    a.add_framework("fw1", ["role1"])
    harness.run()
    a.recover_resources("fw1", "agent1", r("cpus:1;mem:512"), refuse_seconds=100)
    assert harness.tick() == []  # exactly the refused resources: filtered
    a.recover_resources("fw1", "agent1", r("cpus:1;mem:512"))
    # Now the offer is bigger than what was refused, so the filter does not apply.
    assert harness.tick() == [("fw1", "role1", "agent1", r("cpus:2;mem:1024"))]


def test_small_offer_filter_timeout_lasts_one_allocation_interval(harness: Harness) -> None:
    a = harness.allocator
    a.add_agent("agent1", r("cpus:1;mem:512"))
    a.add_framework("fw1", ["role1"])
    [(_, _, _, res)] = harness.run()
    a.recover_resources("fw1", "agent1", res, refuse_seconds=0.1)
    assert harness.tick(0.5) == []  # 0.1 s was raised to the 1 s interval
    assert harness.tick(0.5) == [("fw1", "role1", "agent1", res)]


def test_refusal_timeout_is_capped_defaulted_and_floored() -> None:
    assert refusal_timeout(1e12, 1.0, 5.0) == 365 * 24 * 3600
    assert refusal_timeout(-3, 1.0, 5.0) == 5.0
    assert refusal_timeout(0.2, 1.0, 5.0) == 1.0
    assert refusal_timeout(0, 1.0, 5.0) == 0.0


def test_suppress_stops_offers_and_revive_clears_filters(harness: Harness) -> None:
    a = harness.allocator
    a.add_agent("agent1", r("cpus:2;mem:1024"))
    a.add_framework("fw1", ["role1"], suppressed_roles=["role1"])
    assert harness.run() == []
    a.revive_offers("fw1")
    [(_, _, _, res)] = harness.run()
    a.recover_resources("fw1", "agent1", res, refuse_seconds=1000)
    a.suppress_offers("fw1")
    assert harness.tick() == []
    a.revive_offers("fw1")  # also drops the 1000 s filter
    assert harness.run() == [("fw1", "role1", "agent1", res)]


def test_deactivated_framework_gets_nothing_until_reactivated(harness: Harness) -> None:
    a = harness.allocator
    a.add_framework("fw1", ["role1"])
    a.deactivate_framework("fw1")
    a.add_agent("agent1", r("cpus:2;mem:1024"))
    assert harness.run() == []
    a.activate_framework("fw1")
    assert harness.run() == [("fw1", "role1", "agent1", r("cpus:2;mem:1024"))]


def test_allocatable_needs_min_cpus_or_min_mem(harness: Harness) -> None:
    a = harness.allocator
    a.add_framework("fw1", ["role1"])
    a.add_agent("small", r("cpus:0.005;mem:16;disk:128"))
    assert harness.run() == []
    a.add_agent("cpu", r("cpus:0.01;mem:16;disk:128"))
    assert [o[2] for o in harness.run()] == ["cpu"]
    a.add_agent("mem", r("cpus:0.005;mem:32;disk:128"))
    assert [o[2] for o in harness.run()] == ["mem"]
    # Enough only when the unreserved and the reserved parts are counted together.
    a.add_agent("split", r("cpus:0.015;mem:16;cpus(role1):0.015;mem(role1):16;disk:128"))
    assert [o[2] for o in harness.run()] == ["split"]


def test_framework_min_allocatable_overrides_the_default(harness: Harness) -> None:
    a = harness.allocator
    a.add_framework("big", ["role1"], min_allocatable_resources={"role1": "cpus:4"})
    a.add_agent("agent1", r("cpus:2;mem:1024"))
    assert harness.run() == []
    a.add_agent("agent2", r("cpus:8;mem:1024"))
    assert [o[2] for o in harness.run()] == ["agent2"]


def test_quota_provides_guarantee_and_holds_declined_resources_back() -> None:
    harness = Harness().start()
    a = harness.allocator
    a.add_framework("fw1", ["quota-role"])
    a.update_quota("quota-role", guarantees="cpus:2;mem:1024")
    a.add_framework("fw2", ["no-quota-role"])
    assert harness.run() == []
    a.add_agent("agent1", r("cpus:1;mem:512"))
    assert harness.run() == [("fw1", "quota-role", "agent1", r("cpus:1;mem:512"))]
    a.add_agent("agent2", r("cpus:1;mem:512"))
    assert harness.run() == [("fw1", "quota-role", "agent2", r("cpus:1;mem:512"))]
    # fw1 declines agent2 for two intervals: the headroom keeps it from fw2.
    a.recover_resources("fw1", "agent2", r("cpus:1;mem:512"), refuse_seconds=2)
    assert harness.tick() == []
    assert harness.tick() == [("fw1", "quota-role", "agent2", r("cpus:1;mem:512"))]


def test_quota_provides_limit_and_chops_the_agent() -> None:
    harness = Harness().start()
    a = harness.allocator
    a.add_framework("fw1", ["*"])
    a.update_quota("*", limits="cpus:0;mem:0;disk:0")
    a.add_agent("agent1", r("cpus:2;mem:1024;disk:1024"))
    assert harness.run() == []
    a.add_framework("fw2", ["no-quota-role"])
    assert harness.run() == [("fw2", "no-quota-role", "agent1", r("cpus:2;mem:1024;disk:1024"))]
    a.update_quota("*", limits="cpus:1;mem:512;disk:512")
    a.add_agent("agent2", r("cpus:2;mem:1024;disk:1024"))
    offers = sorted(harness.run())
    assert offers == [
        ("fw1", "*", "agent2", r("cpus:1;mem:512;disk:512")),
        ("fw2", "no-quota-role", "agent2", r("cpus:1;mem:512;disk:512")),
    ]


def test_no_double_accounting_of_resources_used_at_agent_registration(
    harness: Harness,
) -> None:
    a = harness.allocator
    a.add_framework("fw1", ["role1"])
    a.add_framework("fw2", ["role2"])
    a.add_agent(
        "agent1",
        r("cpus:4;mem:4096"),
        used_by_framework={"fw1": {"role1": r("cpus:1;mem:1024")}, "fw2": {"role2": r("cpus:1")}},
    )
    metrics = a.metrics()
    assert metrics["allocator/mesos/resources/cpus/offered_or_allocated"] == 2
    assert metrics["allocator/mesos/resources/mem/offered_or_allocated"] == 1024
    assert metrics["allocator/mesos/roles/role1/shares/dominant"] == pytest.approx(0.25)
    assert metrics["allocator/mesos/roles/role2/shares/dominant"] == pytest.approx(0.25)
    # Only what is free is offered; role1 sorts first at an equal share.
    assert harness.run() == [("fw1", "role1", "agent1", r("cpus:2;mem:3072"))]


def test_recovered_resources_are_reoffered_at_the_next_tick_not_before(
    harness: Harness,
) -> None:
    a = harness.allocator
    a.add_agent("agent1", r("cpus:4;mem:2048"))
    a.add_framework("fw1", ["role1"])
    harness.run()
    a.recover_resources("fw1", "agent1", r("cpus:1;mem:512"))  # a task ended
    assert not a.pending()  # recovering does not trigger a run (MESOS-3078)
    assert harness.tick() == [("fw1", "role1", "agent1", r("cpus:1;mem:512"))]
    with pytest.raises(ValueError):
        a.recover_resources("fw1", "agent1", r("cpus:10"))


def test_removing_a_framework_frees_its_agents_for_others(harness: Harness) -> None:
    a = harness.allocator
    a.add_agent("agent1", r("cpus:2;mem:1024"))
    a.add_framework("fw1", ["role1"])
    harness.run()
    a.add_framework("fw2", ["role2"])
    assert harness.run() == []
    a.remove_framework("fw1")
    assert harness.tick() == [("fw2", "role2", "agent1", r("cpus:2;mem:1024"))]
    assert "allocator/mesos/roles/role1/shares/dominant" not in a.metrics()


def test_removing_an_agent_drops_its_allocations_and_totals(harness: Harness) -> None:
    a = harness.allocator
    a.add_agent("agent1", r("cpus:2;mem:1024"))
    a.add_agent("agent2", r("cpus:2;mem:1024"))
    a.add_framework("fw1", ["role1"])
    harness.run()
    a.remove_agent("agent1")
    metrics = a.metrics()
    assert metrics["allocator/mesos/resources/cpus/total"] == 2
    assert metrics["allocator/mesos/roles/role1/shares/dominant"] == pytest.approx(1.0)


def test_update_agent_offers_the_new_resources(harness: Harness) -> None:
    a = harness.allocator
    a.add_agent("agent1", r("cpus:2;mem:1024"))
    a.add_framework("fw1", ["role1"])
    harness.run()
    a.update_agent("agent1", r("cpus:4;mem:1024"))
    assert harness.run() == [("fw1", "role1", "agent1", r("cpus:2"))]
    with pytest.raises(ValueError):
        a.update_agent("agent1", r("cpus:1;mem:1024"))


def test_deactivated_agent_is_skipped(harness: Harness) -> None:
    a = harness.allocator
    a.add_framework("fw1", ["role1"])
    a.add_agent("agent1", r("cpus:2;mem:1024"))
    a.deactivate_agent("agent1")
    assert harness.run() == []
    a.activate_agent("agent1")
    assert len(harness.tick()) == 1


def test_weights_let_a_heavier_role_get_more(harness: Harness) -> None:
    a = harness.allocator
    a.update_weights({"heavy": 3.0})
    a.add_framework("h", ["heavy"])
    a.add_framework("l", ["light"])
    for i in range(8):
        a.add_agent(f"agent{i}", r("cpus:1;mem:1024"))
    offers = harness.run()
    got = {fw: sum(1 for o in offers if o[0] == fw) for fw in ("h", "l")}
    assert got == {"h": 6, "l": 2}


def test_events_merge_into_one_pending_run_over_the_candidates(harness: Harness) -> None:
    a = harness.allocator
    a.add_agent("agent1", r("cpus:1;mem:512"))
    a.add_agent("agent2", r("cpus:1;mem:512"))
    assert a.pending()
    harness.run()
    assert not a.pending()
    a.add_framework("fw1", ["role1"])
    a.add_agent("agent3", r("cpus:1;mem:512"))
    harness.run()
    assert a.metrics()["allocator/mesos/allocation_runs"] == 2
    assert not a.allocate_pending()
    assert a.metrics()["allocator/mesos/allocation_run_ms/count"] == 2


def test_gpu_agents_are_offered_only_to_gpu_capable_frameworks(harness: Harness) -> None:
    a = harness.allocator
    a.add_framework("plain", ["role1"])
    a.add_agent("gpu", r("cpus:2;mem:1024;gpus:1"))
    assert harness.run() == []
    a.add_framework("ml", ["role2"], capabilities=["GPU_RESOURCES"])
    assert [o[0] for o in harness.run()] == ["ml"]


def test_update_framework_adds_roles_and_unsuppressing_revives(harness: Harness) -> None:
    a = harness.allocator
    a.add_agent("agent1", r("cpus:2;mem:1024"))
    a.add_framework("fw1", ["role1"], suppressed_roles=["role1"])
    assert harness.run() == []
    a.update_framework("fw1", ["role1", "role2"], suppressed_roles=["role1"])
    assert harness.run() == [("fw1", "role2", "agent1", r("cpus:2;mem:1024"))]
    a.recover_resources("fw1", "agent1", r("cpus:2;mem:1024"), refuse_seconds=100)
    a.update_framework("fw1", ["role1", "role2"])  # role2 was never suppressed: filter stays
    assert harness.run() == [("fw1", "role1", "agent1", r("cpus:2;mem:1024"))]
    a.recover_resources("fw1", "agent1", r("cpus:2;mem:1024"), role="role1")
    a.update_framework("fw1", ["role2"])
    assert harness.tick() == []  # role1 is gone and role2 is still filtered
