"""The demo's workload: the same mixed, bursty work of three frameworks, for either mode.

- ``service`` (frameworks.service, role ``service``): a long-running app whose few
  instances hold a small, steady share all along (like a web tier).
- ``batch`` (frameworks.batch, role ``batch``): a DAG in bursts — a wave of jobs, a short
  merge job after all of them, then a second wave after the merge.
- ``analytics`` (frameworks.mapreduce, role ``analytics``): a Monte Carlo π job of many
  work items run by coarse-grained executors, arriving ``analytics_delay_s`` after the
  others and capped at ``max_executors`` (as Spark's ``spark.cores.max`` caps a job).

With static partitions each role owns three of the nine agents (reserved resources), so
a burst waits for its own three machines while the others sit idle; sharing the pool,
the same bursts spread over all nine. ``Workload.short()`` is a smaller run for tests.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass

__all__ = ["ROLES", "Workload"]

ROLES = ("service", "batch", "analytics")
"""One role per framework; static mode gives each role three agents."""


@dataclass(frozen=True, slots=True)
class Workload:
    agents: int = 9
    agent_cpus: float = 4.0
    agent_mem: int = 4096
    service_instances: int = 4
    service_cpus: float = 0.5
    wave_jobs: int = 32
    job_cpus: float = 0.9
    """With the command executor's 0.1 cpus, a job holds one cpu."""
    job_seconds: float = 4.0
    merge_seconds: float = 2.0
    pi_items: int = 90
    item_seconds: float = 2.0
    max_executors: int = 6
    cores_per_executor: int = 4
    """Spark's coarse-grained mode: one executor per agent, using up to this many cpus."""

    analytics_delay_s: float = 4.0

    @classmethod
    def short(cls) -> Workload:
        return cls(agent_cpus=2.0, agent_mem=2048, service_instances=2, wave_jobs=6,
                   job_seconds=2.0, merge_seconds=1.0, pi_items=12, item_seconds=1.0,
                   max_executors=3, cores_per_executor=2, analytics_delay_s=1.0)

    @property
    def total_cpus(self) -> float:
        return self.agents * self.agent_cpus

    def agent_resources(self, index: int, static: bool) -> str:
        """``--resources`` of agent ``index`` (0-based); static: reserved for its role."""
        role = ROLES[index * len(ROLES) // self.agents]
        r = f"({role})" if static else ""
        return (f"cpus{r}:{self.agent_cpus:g};mem{r}:{self.agent_mem};disk{r}:4096;"
                f"ports{r}:[31000-31999]")

    def apps(self) -> list[dict[str, object]]:
        return [{"id": "web", "cmd": "sleep 100000", "instances": self.service_instances,
                 "cpus": self.service_cpus, "mem": 32}]

    def jobs(self) -> list[dict[str, object]]:
        def job(name: str, seconds: float, parents: list[str]) -> dict[str, object]:
            spec: dict[str, object] = {"name": name, "command": f"sleep {seconds:g}",
                                       "cpus": self.job_cpus, "mem": 32, "retries": 2}
            if parents:
                spec["parents"] = parents
            return spec
        first = [f"a{i:02d}" for i in range(self.wave_jobs)]
        second = [f"b{i:02d}" for i in range(self.wave_jobs)]
        return ([job(n, self.job_seconds, []) for n in first]
                + [job("merge", self.merge_seconds, first)]
                + [job(n, self.job_seconds, ["merge"]) for n in second])

    def delays(self) -> dict[str, float]:
        """When each framework starts, in seconds after time 0."""
        return {"service": 0.0, "batch": 0.0, "analytics": self.analytics_delay_s}

    def commands(self, master: str, work_dir: str, http_ports: tuple[int, int]
                 ) -> dict[str, list[str]]:
        """argv of each framework (by name), writing its spec files into ``work_dir``."""
        apps = os.path.join(work_dir, "apps.json")
        jobs = os.path.join(work_dir, "jobs.json")
        with open(apps, "w") as f:
            json.dump(self.apps(), f)
        with open(jobs, "w") as f:
            json.dump(self.jobs(), f)
        py = sys.executable
        return {
            "service": [py, "-m", "frameworks.service", "run", f"--master={master}",
                        f"--apps={apps}", "--role=service", "--name=service",
                        f"--http_port={http_ports[0]}",
                        f"--state_dir={os.path.join(work_dir, 'service-state')}"],
            "batch": [py, "-m", "frameworks.batch", "run", f"--master={master}",
                      f"--jobs={jobs}", "--role=batch", "--name=batch",
                      f"--http_port={http_ports[1]}", "--exit_when_done"],
            "analytics": [py, "-m", "frameworks.mapreduce", f"--master={master}", "--job=pi",
                          f"--items={self.pi_items}", f"--item_seconds={self.item_seconds:g}",
                          "--role=analytics", "--name=analytics",
                          f"--max_executors={self.max_executors}",
                          f"--cores_per_executor={self.cores_per_executor}",
                          f"--min_executor_cores={self.cores_per_executor}"],
        }
