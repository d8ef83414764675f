"""A scheduler in an OS process of its own, for fault tests that kill or replace it.

``python -m tests.e2e.scheduler_proc --master=M --failover_timeout=S --task_id=T
--command=C [--resources=R] [--no_ack]`` registers a framework, launches one command
task on the first offer (declining the rest), and prints one line per event on stdout,
flushed: ``registered <framework_id>``, ``status <task_id> <STATE>``, ``error <message>``.
With ``--no_ack`` the driver acknowledges nothing (explicit acknowledgements, never sent),
so the agent keeps the update pending. It runs until killed.
"""

from __future__ import annotations

import argparse
import getpass
import threading
from typing import Any

from actors.messages import CommandInfo, Filters, FrameworkInfo, TaskInfo, TaskStatus
from actors.resources import Resources
from frameworks.scheduler import Scheduler
from frameworks.scheduler_driver import SchedulerDriver


class OneTask(Scheduler):
    def __init__(self, task_id: str, command: str, resources: str) -> None:
        self.task_id, self.command, self.resources = task_id, command, resources
        self.launched = False

    def registered(self, driver: Any, framework_id: str, master_info: Any) -> None:
        print("registered", framework_id, flush=True)

    def resource_offers(self, driver: Any, offers: Any) -> None:
        for offer in offers:
            if self.launched:
                driver.decline_offer(offer.id, Filters(refuse_seconds=1))
                continue
            self.launched = True
            driver.launch_tasks([offer.id], [TaskInfo(
                name=self.task_id, task_id=self.task_id, agent_id=offer.agent_id,
                resources=Resources.parse(self.resources),
                command=CommandInfo(value=self.command))])

    def status_update(self, driver: Any, status: TaskStatus) -> None:
        print("status", status.task_id, status.state.name, flush=True)

    def error(self, driver: Any, message: str) -> None:
        print("error", message, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--master", required=True)
    parser.add_argument("--failover_timeout", type=float, required=True)
    parser.add_argument("--task_id", required=True)
    parser.add_argument("--command", required=True)
    parser.add_argument("--resources", default="cpus:0.1;mem:32")
    parser.add_argument("--no_ack", action="store_true")
    args = parser.parse_args()
    info = FrameworkInfo(user=getpass.getuser(), name="failover",
                         failover_timeout=args.failover_timeout)
    driver = SchedulerDriver.create(OneTask(args.task_id, args.command, args.resources),
                                    info, args.master,
                                    implicit_acknowledgements=not args.no_ack,
                                    registration_backoff_factor=0.2)
    driver.start()
    threading.Event().wait()


if __name__ == "__main__":
    main()
