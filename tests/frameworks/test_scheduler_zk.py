"""SchedulerDriver with a ``zk://`` master, against a real ZooKeeper (no real master).

Stand-in masters (``scheduler_harness.FakeMaster``) share one in-process node;
``MasterContender`` publishes each one's ``MasterInfo`` (its ``pid``), so the driver
finds them through its detector. Messages the test sends from the stand-ins reach the
driver in the order sent (one connection per pair of nodes).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator

import pytest
from scheduler_harness import FRAMEWORK_ID, FakeMaster, RecordingScheduler

from actors.ha import MasterContender
from actors.messages import (
    FrameworkError,
    FrameworkInfo,
    RegisterFramework,
    ReregisterFramework,
    RescindResourceOffer,
)
from actors.messages.info import MasterInfo, ip_to_uint32
from frameworks.execute import flags as execute_flags
from frameworks.execute import run as execute
from frameworks.scheduler_driver import DriverStatus, SchedulerDriver, master_location
from transport import PID, Node

WAIT = 30.0


class Setup:
    def __init__(self, zookeeper: str, zk_path: str) -> None:
        self.zookeeper = zookeeper
        self.zk_path = zk_path
        self.url = f"zk://{zookeeper}{zk_path}"
        self.node = Node("127.0.0.1", 0).start()
        self.m1 = FakeMaster.spawn(self.node, name="master")
        self.m2 = FakeMaster.spawn(self.node, name="master2")
        self.contenders: list[MasterContender] = []
        self.drivers: list[SchedulerDriver] = []

    def contend(self, master: FakeMaster, n: int) -> MasterContender:
        info = MasterInfo(id=f"master-{n}", ip=ip_to_uint32("127.0.0.1"), port=5150 + n,
                          pid=master.pid)
        contender = MasterContender(self.zookeeper, self.zk_path, info, lambda: None,
                                    lambda reason: None).start()
        self.contenders.append(contender)
        return contender

    def driver(self, scheduler: RecordingScheduler) -> SchedulerDriver:
        driver = SchedulerDriver.create(scheduler, FrameworkInfo(user="tester", name="zk"),
                                        self.url, registration_backoff_factor=0.05)
        self.drivers.append(driver)
        return driver

    def stop(self) -> None:
        for driver in self.drivers:
            driver.close()
        for contender in self.contenders:
            contender.stop()
        self.node.stop()


@pytest.fixture
def setup(zookeeper: str, zk_path: str) -> Iterator[Setup]:
    s = Setup(zookeeper, zk_path)
    yield s
    s.stop()


def test_driver_registers_with_the_leader_and_follows_it(setup: Setup) -> None:
    scheduler = RecordingScheduler()
    driver = setup.driver(scheduler)
    assert driver.start() is DriverStatus.DRIVER_RUNNING  # no leader yet: it waits
    c1 = setup.contend(setup.m1, 1)
    setup.contend(setup.m2, 2)
    setup.m1.wait_for(RegisterFramework, timeout=WAIT)
    assert scheduler.wait_for("registered", timeout=WAIT)[0][0] == FRAMEWORK_ID
    assert setup.m2.messages(RegisterFramework) == []

    c1.stop()  # the second contender leads now
    scheduler.wait_for("disconnected", timeout=WAIT)
    rereg = setup.m2.wait_for(ReregisterFramework, timeout=WAIT)[0]
    assert rereg.framework_info.id == FRAMEWORK_ID
    assert not rereg.failover
    scheduler.wait_for("reregistered", timeout=WAIT)
    assert setup.m2.messages(RegisterFramework) == []

    # The deposed master is ignored; the leader's message, sent after it from the same
    # node, arrives after it and is delivered.
    setup.node.send(setup.m1.pid, driver.pid, RescindResourceOffer(offer_id="from-m1"))
    setup.node.send(setup.m2.pid, driver.pid, RescindResourceOffer(offer_id="from-m2"))
    assert scheduler.wait_for("offer_rescinded", timeout=WAIT) == [("from-m2",)]
    assert scheduler.names().count("registered") == 1
    assert scheduler.names().count("disconnected") == 1


def test_driver_is_disconnected_while_no_master_leads(setup: Setup) -> None:
    c1 = setup.contend(setup.m1, 1)
    scheduler = RecordingScheduler()
    driver = setup.driver(scheduler)
    driver.start()
    scheduler.wait_for("registered", timeout=WAIT)
    c1.stop()
    scheduler.wait_for("disconnected", timeout=WAIT)
    setup.node.send(setup.m1.pid, driver.pid, RescindResourceOffer(offer_id="no-leader"))
    setup.contend(setup.m2, 2)
    scheduler.wait_for("reregistered", timeout=WAIT)
    setup.node.send(setup.m2.pid, driver.pid, RescindResourceOffer(offer_id="leader"))
    assert scheduler.wait_for("offer_rescinded", timeout=WAIT) == [("leader",)]
    assert driver.stop() is DriverStatus.DRIVER_STOPPED


def test_master_location() -> None:
    _pid, zk = master_location("zk://127.0.0.1:2181,127.0.0.2:2181/mesos/")
    assert zk == "zk://127.0.0.1:2181,127.0.0.2:2181/mesos"
    assert master_location("10.0.0.1:5050") == (PID("master", "10.0.0.1", 5050), "")
    with pytest.raises(ValueError, match="path"):
        master_location("zk://127.0.0.1:2181")


def test_execute_takes_a_zk_master(setup: Setup) -> None:
    values = execute_flags().parse([f"--master={setup.url}", "--name=t", "--command=true"])
    assert values.master == setup.url
    setup.contend(setup.m1, 1)
    err = io.StringIO()
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(execute(
        [f"--master={setup.url}", "--name=t", "--command=true"], io.StringIO(), err)))
    thread.start()
    setup.m1.wait_for(RegisterFramework, timeout=WAIT)
    driver_pid = setup.m1.received[0][0]
    setup.m1.push(driver_pid, FrameworkError(message="go away"))
    thread.join(WAIT)
    assert result == [1]
    assert "go away" in err.getvalue()
