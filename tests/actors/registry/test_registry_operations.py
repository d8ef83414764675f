"""Registry operations, pure: every operation on a hand-built registry; the registry's bytes."""

from __future__ import annotations

import zlib
from typing import Any

import msgpack
import pytest

from actors.messages.types import AgentInfo
from actors.registry import (
    AdmitAgent,
    CorruptRegistry,
    MarkAgentGone,
    MarkAgentReachable,
    MarkAgentUnreachable,
    OperationRefused,
    PruneUnreachable,
    Quota,
    Registry,
    RemoveAgent,
    UpdateAgentInfo,
    UpdateQuota,
    UpdateWeights,
    decode_registry,
    encode_registry,
)
from actors.registry.model import missing_capabilities
from actors.registry.operations import DEFAULT_MAX_AGENT_AGE_S, DEFAULT_MAX_AGENT_COUNT
from actors.resources import Resources

DAY = 24 * 3600.0


def agent(agent_id: str, hostname: str = "") -> AgentInfo:
    return AgentInfo(
        hostname=hostname or f"host-{agent_id}",
        id=agent_id,
        resources=Resources.parse("cpus:4;mem:1024"),
    )


def stored(data: Any) -> bytes:
    """Bytes as ``encode_registry`` writes them, of hand-made msgpack data."""
    return zlib.compress(msgpack.packb(data))


def admitted(*ids: str) -> Registry:
    return Registry(agents={i: agent(i) for i in ids})


# --- agents ------------------------------------------------------------------------------


def test_admit_adds_the_agent() -> None:
    registry, mutated = AdmitAgent(agent("a1")).apply(Registry())
    assert mutated
    assert registry.agents == {"a1": agent("a1")}


def test_admit_refuses_an_agent_already_admitted() -> None:
    with pytest.raises(OperationRefused, match="already admitted"):
        AdmitAgent(agent("a1", "elsewhere")).apply(admitted("a1"))


def test_admit_refuses_an_agent_without_id() -> None:
    with pytest.raises(OperationRefused, match="no id"):
        AdmitAgent(AgentInfo(hostname="h")).apply(Registry())


def test_admit_leaves_the_input_registry_unchanged() -> None:
    before = admitted("a1")
    AdmitAgent(agent("a2")).apply(before)
    assert set(before.agents) == {"a1"}


def test_update_agent_info_replaces_a_changed_info() -> None:
    changed = agent("a1", "renamed")
    registry, mutated = UpdateAgentInfo(changed).apply(admitted("a1"))
    assert mutated
    assert registry.agents["a1"].hostname == "renamed"


def test_update_agent_info_with_the_same_info_is_a_no_op() -> None:
    before = admitted("a1")
    registry, mutated = UpdateAgentInfo(agent("a1")).apply(before)
    assert not mutated
    assert registry is before


def test_update_agent_info_refuses_an_agent_not_admitted() -> None:
    with pytest.raises(OperationRefused, match="not admitted"):
        UpdateAgentInfo(agent("a9")).apply(admitted("a1"))


def test_mark_unreachable_moves_the_agent_with_its_time() -> None:
    registry, mutated = MarkAgentUnreachable("a1", 100.0).apply(admitted("a1", "a2"))
    assert mutated
    assert set(registry.agents) == {"a2"}
    assert registry.unreachable == {"a1": 100.0}


def test_mark_unreachable_refuses_an_agent_not_admitted() -> None:
    registry = Registry(unreachable={"a1": 5.0})
    with pytest.raises(OperationRefused, match="not admitted"):
        MarkAgentUnreachable("a1", 100.0).apply(registry)


def test_mark_reachable_brings_an_unreachable_agent_back() -> None:
    registry = Registry(unreachable={"a1": 5.0, "a2": 6.0})
    after, mutated = MarkAgentReachable(agent("a1")).apply(registry)
    assert mutated
    assert after.agents == {"a1": agent("a1")}
    assert after.unreachable == {"a2": 6.0}


def test_mark_reachable_of_an_admitted_agent_is_a_no_op() -> None:
    # an agent re-registering with a new master before it was marked unreachable
    before = admitted("a1")
    after, mutated = MarkAgentReachable(agent("a1", "new-hostname")).apply(before)
    assert not mutated
    assert after is before


def test_mark_reachable_of_a_pruned_agent_admits_it_again() -> None:
    after, mutated = MarkAgentReachable(agent("a1")).apply(Registry())
    assert mutated
    assert set(after.agents) == {"a1"}


def test_mark_reachable_refuses_a_gone_agent() -> None:
    with pytest.raises(OperationRefused, match="gone"):
        MarkAgentReachable(agent("a1")).apply(Registry(gone={"a1": 1.0}))


def test_mark_gone_takes_an_admitted_agent() -> None:
    after, mutated = MarkAgentGone("a1", 50.0).apply(admitted("a1"))
    assert mutated
    assert after.agents == {}
    assert after.gone == {"a1": 50.0}


def test_mark_gone_takes_an_unreachable_agent() -> None:
    after, mutated = MarkAgentGone("a1", 50.0).apply(Registry(unreachable={"a1": 10.0}))
    assert mutated
    assert after.unreachable == {}
    assert after.gone == {"a1": 50.0}


def test_mark_gone_refuses_an_agent_already_gone() -> None:
    with pytest.raises(OperationRefused, match="already gone"):
        MarkAgentGone("a1", 50.0).apply(Registry(gone={"a1": 1.0}))


def test_mark_gone_refuses_an_unknown_agent() -> None:
    with pytest.raises(OperationRefused, match="neither"):
        MarkAgentGone("a1", 50.0).apply(Registry())


def test_remove_forgets_an_admitted_agent() -> None:
    after, mutated = RemoveAgent("a1").apply(admitted("a1", "a2"))
    assert mutated
    assert set(after.agents) == {"a2"}
    assert not after.knows("a1")


def test_remove_refuses_an_agent_not_admitted() -> None:
    with pytest.raises(OperationRefused):
        RemoveAgent("a1").apply(Registry(unreachable={"a1": 1.0}))


# --- pruning -----------------------------------------------------------------------------


def test_prune_defaults_are_mesos_two_weeks_and_100k_agents() -> None:
    assert DEFAULT_MAX_AGENT_AGE_S == 14 * DAY
    assert DEFAULT_MAX_AGENT_COUNT == 102_400
    op = PruneUnreachable(now=0.0)
    assert (op.max_age, op.max_count) == (14 * DAY, 102_400)


def test_prune_by_age_drops_old_unreachable_and_gone_entries() -> None:
    now = 100 * DAY
    registry = Registry(
        agents={"a0": agent("a0")},
        unreachable={"old": now - 15 * DAY, "new": now - 13 * DAY},
        gone={"old-gone": now - 20 * DAY, "new-gone": now - DAY},
    )
    after, mutated = PruneUnreachable(now).apply(registry)
    assert mutated
    assert after.unreachable == {"new": now - 13 * DAY}
    assert after.gone == {"new-gone": now - DAY}
    assert after.agents == registry.agents  # admitted agents are never pruned


def test_prune_by_count_keeps_the_most_recent() -> None:
    registry = Registry(
        unreachable={f"u{i}": float(i) for i in range(5)},
        gone={f"g{i}": float(i) for i in range(3)},
    )
    after, mutated = PruneUnreachable(10.0, max_count=2).apply(registry)
    assert mutated
    assert after.unreachable == {"u3": 3.0, "u4": 4.0}
    assert after.gone == {"g1": 1.0, "g2": 2.0}


def test_prune_with_nothing_to_drop_is_a_no_op() -> None:
    registry = Registry(unreachable={"u": 5.0})
    after, mutated = PruneUnreachable(10.0, max_age=DAY, max_count=10).apply(registry)
    assert not mutated
    assert after is registry


def test_prune_refuses_negative_limits() -> None:
    with pytest.raises(ValueError):
        PruneUnreachable(0.0, max_count=-1)


# --- weights and quota -------------------------------------------------------------------


def test_update_weights_merges_with_the_stored_weights() -> None:
    registry = Registry(weights={"dev": 1.0, "prod": 2.0})
    after, mutated = UpdateWeights({"prod": 3.0, "batch": 0.5}).apply(registry)
    assert mutated
    assert after.weights == {"dev": 1.0, "prod": 3.0, "batch": 0.5}


def test_update_weights_with_the_same_values_is_a_no_op() -> None:
    registry = Registry(weights={"prod": 2.0})
    assert UpdateWeights({"prod": 2.0}).apply(registry) == (registry, False)
    assert UpdateWeights({}).apply(registry) == (registry, False)


@pytest.mark.parametrize("weight", [0.0, -1.0, float("inf"), float("nan")])
def test_update_weights_refuses_a_weight_that_is_not_positive(weight: float) -> None:
    with pytest.raises(OperationRefused):
        UpdateWeights({"prod": weight}).apply(Registry())


def test_update_quota_sets_and_replaces_a_role_quota() -> None:
    first = Quota(guarantees={"cpus": 2.0}, limits={"cpus": 4.0})
    after, mutated = UpdateQuota({"prod": first}).apply(Registry())
    assert mutated
    assert after.quotas == {"prod": first}
    second = Quota(limits={"mem": 2048.0})
    after2, mutated2 = UpdateQuota({"prod": second}).apply(after)
    assert mutated2
    assert after2.quotas == {"prod": second}


def test_update_quota_with_an_empty_quota_removes_it() -> None:
    registry = Registry(quotas={"prod": Quota(guarantees={"cpus": 1.0})})
    after, mutated = UpdateQuota({"prod": Quota()}).apply(registry)
    assert mutated
    assert after.quotas == {}
    assert UpdateQuota({"dev": Quota()}).apply(after) == (after, False)


def test_update_quota_refuses_a_guarantee_above_its_limit() -> None:
    with pytest.raises(OperationRefused, match="exceeds"):
        UpdateQuota({"prod": Quota(guarantees={"cpus": 5.0}, limits={"cpus": 4.0})}).apply(
            Registry()
        )


def test_update_quota_refuses_negative_amounts() -> None:
    with pytest.raises(OperationRefused):
        UpdateQuota({"prod": Quota(limits={"cpus": -1.0})}).apply(Registry())


# --- the registry's bytes ----------------------------------------------------------------


def test_registry_round_trips_through_bytes() -> None:
    registry = Registry(
        agents={"a1": agent("a1")},
        unreachable={"a2": 12.5},
        gone={"a3": 13.0},
        weights={"prod": 2.0},
        quotas={"prod": Quota(guarantees={"cpus": 1.0}, limits={"cpus": 2.0})},
        minimum_capabilities=("AGENT_UPDATE",),
    )
    assert decode_registry(encode_registry(registry)) == registry
    assert decode_registry(encode_registry(Registry())) == Registry()


def test_garbage_bytes_are_a_corrupt_registry() -> None:
    with pytest.raises(CorruptRegistry, match="zlib"):
        decode_registry(msgpack.packb({}))
    with pytest.raises(CorruptRegistry, match="msgpack"):
        decode_registry(zlib.compress(b"\xc1 not msgpack"))
    with pytest.raises(CorruptRegistry, match="decode"):
        decode_registry(stored({"agents": {"a1": {"hostname": 3}}}))


def test_an_admitted_agent_stored_under_another_id_is_corrupt() -> None:
    data = stored({"agents": {"a1": {"hostname": "h", "id": "a2"}}})
    with pytest.raises(CorruptRegistry, match="carries id"):
        decode_registry(data)


def test_fields_a_newer_master_added_are_ignored() -> None:
    data = stored({"weights": {"prod": 2.0}, "maintenance": {"later": 1}})
    assert decode_registry(data) == Registry(weights={"prod": 2.0})


def test_missing_capabilities_names_what_this_master_lacks() -> None:
    registry = Registry(minimum_capabilities=("AGENT_UPDATE", "QUOTA_V2"))
    assert missing_capabilities(registry, ["AGENT_UPDATE"]) == {"QUOTA_V2"}
    assert missing_capabilities(registry, ["AGENT_UPDATE", "QUOTA_V2", "X"]) == frozenset()
