"""The registry GC's pure decisions (``actors.master.registry_gc``, ``PruneAgents``).

What is proved: the age cut drops entries strictly older than the max age; the count cut
keeps the newest; both lists are cut, each on its own; nothing to drop is an empty plan;
``forget`` drops the pruned agents' unreachable tasks (and only theirs) and skips ids the
books no longer hold; ``PruneAgents`` removes exactly the ids asked from the registry and
changes nothing when none is there; reconciliation of a task of a pruned agent answers
TASK_UNKNOWN (TASK_LOST unless partition-aware).
"""

from __future__ import annotations

from typing import Any

import pytest

from actors.master import agents, frameworks, offers, registry_gc
from actors.master.books import Books, Outbox
from actors.master.launch import accept
from actors.master.reconciliation import reconcile
from actors.messages import (
    AcceptOffers,
    AgentInfo,
    CommandInfo,
    FrameworkCapability,
    FrameworkInfo,
    FrameworkRegistered,
    MasterInfo,
    OffersAllocated,
    RegisterAgent,
    RegisterFramework,
    TaskInfo,
    TaskState,
    TaskStatus,
    launch,
)
from actors.registry import PruneAgents, PruneUnreachable, Registry
from actors.resources import Resources
from transport import PID

NOW = 1_000_000.0
DAY = 86400.0
R = Resources.parse


def books_with(unreachable: dict[str, float] | None = None,
               gone: dict[str, float] | None = None) -> Books:
    books = Books(master_info=MasterInfo(id="M"), now=lambda: NOW)
    books.agents.unreachable.update(unreachable or {})
    books.agents.gone.update(gone or {})
    return books


def test_the_age_cut_drops_entries_older_than_the_max_age() -> None:
    books = books_with({"old": NOW - 3 * DAY, "edge": NOW - 2 * DAY, "new": NOW - 1})
    gc = registry_gc.plan(books, NOW, max_age=2 * DAY, max_count=100)
    assert gc.unreachable == {"old"}  # exactly max_age old is kept (Mesos: age > max)
    assert gc.gone == frozenset() and not gc.empty


def test_the_count_cut_keeps_the_newest() -> None:
    books = books_with({"a": NOW - 30, "b": NOW - 10, "c": NOW - 20, "d": NOW - 40})
    assert registry_gc.plan(books, NOW, 1e9, max_count=2).unreachable == {"a", "d"}
    assert registry_gc.plan(books, NOW, 1e9, max_count=1).unreachable == {"a", "c", "d"}
    assert registry_gc.plan(books, NOW, 1e9, max_count=0).unreachable == {"a", "b", "c", "d"}
    assert registry_gc.plan(books, NOW, 1e9, max_count=4).empty


def test_both_lists_are_cut_each_on_its_own() -> None:
    books = books_with(unreachable={"u1": NOW - 5 * DAY, "u2": NOW - 2, "u3": NOW - 1},
                       gone={"g1": NOW - 3, "g2": NOW - 2, "g3": NOW - 1})
    gc = registry_gc.plan(books, NOW, max_age=DAY, max_count=2)
    assert gc.unreachable == {"u1"}  # the age cut took the oldest: two left
    assert gc.gone == {"g1"}  # the count cut: the two newest stay
    assert gc.operation() == PruneAgents(unreachable=frozenset({"u1"}),
                                         gone=frozenset({"g1"}))


def test_nothing_to_drop_is_an_empty_plan() -> None:
    assert registry_gc.plan(books_with(), NOW, 0.0, 0).empty
    books = books_with({"a": NOW - 1}, {"b": NOW - 1})
    assert registry_gc.plan(books, NOW, DAY, 10).empty


def test_negative_limits_are_refused() -> None:
    with pytest.raises(ValueError):
        registry_gc.plan(books_with(), NOW, -1.0, 10)
    with pytest.raises(ValueError):
        registry_gc.plan(books_with(), NOW, 1.0, -1)


# --- forget: the books after the registry dropped the ids ------------------------------------


AWARE = frozenset({FrameworkCapability.PARTITION_AWARE})


def framework(books: Books, name: str, **info: Any) -> str:
    out = Outbox()
    frameworks.register(books, PID(f"scheduler({name})", "10.0.0.9", 4000), RegisterFramework(
        framework_info=FrameworkInfo(user="u", name=name, **info)), out)
    return str(out.messages(FrameworkRegistered)[0].framework_id)


def unreachable_agent_running(books: Books, host: str, *tasks: tuple[str, str]) -> str:
    """An agent running ``(framework_id, task_id)`` tasks, then removed as unreachable."""
    out = Outbox()
    agent_id = agents.register(books, PID("agent", host, 5051), RegisterAgent(
        agent_info=AgentInfo(hostname=host, resources=R("cpus:4;mem:4096"))), out, 75.0).id
    for framework_id, task_id in tasks:
        offers.make_offers(books, OffersAllocated(framework_id=framework_id, allocation={
            "*": {agent_id: R("cpus:1;mem:512")}}), out)
        fw = books.frameworks.registered[framework_id]
        accept(books, fw, AcceptOffers(framework_id=framework_id, offer_ids=(out.offers_made[-1],),
                                       operations=(launch(TaskInfo(
                                           name=task_id, task_id=task_id, agent_id=agent_id,
                                           resources=R("cpus:1;mem:512"),
                                           command=CommandInfo(value="true"))),)), out)
    agents.remove(books, books.agents.registered[agent_id], out, "unreachable")
    return agent_id


def test_forget_drops_the_pruned_agents_and_only_their_unreachable_tasks() -> None:
    books = books_with(gone={"G": NOW - 9 * DAY})
    aware = framework(books, "aware", capabilities=AWARE)
    plain = framework(books, "plain")
    old = unreachable_agent_running(books, "10.0.0.1", (aware, "a1"), (plain, "p1"))
    kept = unreachable_agent_running(books, "10.0.0.2", (aware, "a2"))
    books.agents.unreachable[old] = NOW - 9 * DAY
    gc = registry_gc.plan(books, NOW, max_age=DAY, max_count=100)
    assert gc.unreachable == {old} and gc.gone == {"G"}

    collected = registry_gc.forget(books, gc)
    assert collected == registry_gc.Collected(unreachable=1, gone=1, tasks=2)
    assert list(books.agents.unreachable) == [kept] and books.agents.gone == {}
    assert list(books.frameworks.registered[aware].unreachable_tasks) == ["a2"]
    assert books.frameworks.registered[plain].unreachable_tasks == {}
    # The same plan again (the agent is no longer held): nothing more.
    assert registry_gc.forget(books, gc) == registry_gc.Collected(
        unreachable=0, gone=0, tasks=0)


def test_a_task_of_a_pruned_agent_reconciles_as_unknown() -> None:
    books = books_with()
    aware = framework(books, "aware", capabilities=AWARE)
    plain = framework(books, "plain")
    agent_id = unreachable_agent_running(books, "10.0.0.1", (aware, "a1"), (plain, "p1"))

    def ask(framework_id: str, task_id: str) -> TaskState:
        fw = books.frameworks.registered[framework_id]
        (answer,) = reconcile(books, fw, (TaskStatus(
            task_id=task_id, state=TaskState.TASK_RUNNING, agent_id=agent_id),))
        return answer.update.status.state

    assert ask(aware, "a1") is TaskState.TASK_UNREACHABLE
    assert len(reconcile(books, books.frameworks.registered[aware], ())) == 1
    registry_gc.forget(books, registry_gc.plan(books, NOW + 1, 0.0, 100))
    assert ask(aware, "a1") is TaskState.TASK_UNKNOWN
    assert ask(plain, "p1") is TaskState.TASK_LOST
    assert reconcile(books, books.frameworks.registered[aware], ()) == []  # implicit: none


# --- PruneAgents in the registry ---------------------------------------------------------------


def test_prune_agents_removes_exactly_the_ids_asked() -> None:
    registry = Registry(unreachable={"u1": 1.0, "u2": 2.0}, gone={"g1": 1.0, "g2": 2.0})
    pruned, mutated = PruneAgents(unreachable=frozenset({"u1", "back"}),
                                  gone=frozenset({"g2"})).apply(registry)
    assert mutated and pruned.unreachable == {"u2": 2.0} and pruned.gone == {"g1": 1.0}
    same, mutated = PruneAgents(unreachable=frozenset({"back"})).apply(registry)
    assert not mutated and same is registry


def test_prune_unreachable_cuts_as_the_masters_plan_does() -> None:
    entries = {"a": NOW - 30, "b": NOW - 10, "c": NOW - 20, "d": NOW - 5 * DAY}
    registry = Registry(unreachable=entries, gone=dict(entries))
    pruned, _ = PruneUnreachable(NOW, max_age=DAY, max_count=2).apply(registry)
    gc = registry_gc.plan(books_with(entries, entries), NOW, DAY, 2)
    assert set(pruned.unreachable) == set(entries) - gc.unreachable == {"b", "c"}
    assert set(pruned.gone) == set(entries) - gc.gone
