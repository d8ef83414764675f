"""Allocator benchmark: the cost of one full allocation cycle, after Mesos' own.

Run by the ``scripts/bench`` dispatcher as ``benchmarks.allocator.main(argv)``.
Agents look like Mesos' benchmark agents (``cpus:24;mem:4096;disk:4096;
ports:[31000-32000]``); frameworks are spread over a few roles. Each measured cycle
starts with every agent free: the first cycle offers each agent whole to one
framework, then everything is recovered (as if every offer were declined without a
filter) and the cycle is measured again. Prints one JSON line, the last line.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from actors.allocator import AllocatorConfig, HierarchicalAllocator
from actors.resources import Resources

AGENT_GRID = (1000, 5000, 10000, 20000, 50000)
FRAMEWORK_GRID = (1, 50, 200, 1000)
AGENT_RESOURCES = "cpus:24;mem:4096;disk:4096;ports:[31000-32000]"


class _FrozenClock:
    def now(self) -> float:
        return 0.0


def run(agents: int, frameworks: int, repeat: int, roles: int, seed: int) -> dict[str, object]:
    offers: list[tuple[str, str, str, Resources]] = []

    def record(framework_id: str, by_role: dict[str, dict[str, Resources]]) -> None:
        for role, by_agent in by_role.items():
            for agent_id, res in by_agent.items():
                offers.append((framework_id, role, agent_id, res))

    allocator = HierarchicalAllocator(record, _FrozenClock(), AllocatorConfig(seed=seed))
    started = time.perf_counter()
    for i in range(frameworks):
        allocator.add_framework(f"framework-{i}", [f"role-{i % roles}"])
    total = Resources.parse(AGENT_RESOURCES)
    for i in range(agents):
        allocator.add_agent(f"agent-{i}", total)
    setup_s = time.perf_counter() - started

    cycles = []
    recover = []
    for _ in range(repeat):
        offers.clear()
        started = time.perf_counter()
        allocator.allocate()
        cycles.append(time.perf_counter() - started)
        offered = len(offers)
        started = time.perf_counter()
        for framework_id, role, agent_id, res in offers:
            allocator.recover_resources(framework_id, agent_id, res, role=role)
        recover.append(time.perf_counter() - started)
    return {
        "agents": agents,
        "frameworks": frameworks,
        "roles": min(roles, frameworks),
        "cycle_s_median": round(statistics.median(cycles), 4),
        "cycle_s_all": [round(c, 4) for c in cycles],
        "recover_s_median": round(statistics.median(recover), 4),
        "offers": offered,
        "setup_s": round(setup_s, 3),
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench allocator", description=__doc__)
    parser.add_argument("--agents", type=int, help="agents (default: the whole grid)")
    parser.add_argument("--frameworks", type=int, help="frameworks (default: the grid)")
    parser.add_argument("--repeat", type=int, default=5, help="measured cycles (median)")
    parser.add_argument("--roles", type=int, default=5, help="roles the frameworks share")
    parser.add_argument("--seed", type=int, default=42, help="agent shuffle seed")
    args = parser.parse_args(argv)
    if (args.agents is None) != (args.frameworks is None):
        parser.error("give both --agents and --frameworks, or neither for the grid")
    if args.repeat < 1 or args.roles < 1:
        parser.error("--repeat and --roles must be at least 1")
    if args.agents is not None:
        print(json.dumps(run(args.agents, args.frameworks, args.repeat, args.roles, args.seed)))
        return 0
    results = []
    for agents in AGENT_GRID:
        for frameworks in FRAMEWORK_GRID:
            result = run(agents, frameworks, args.repeat, args.roles, args.seed)
            print(
                f"# {agents} agents x {frameworks} frameworks: {result['cycle_s_median']} s",
                file=sys.stderr,
            )
            results.append(result)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
