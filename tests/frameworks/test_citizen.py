"""``Citizen``'s offer etiquette, against a recording driver (pure logic)."""

from __future__ import annotations

from typing import Any

from actors.messages import Offer
from frameworks.citizen import DECLINE_SECONDS, Citizen


class Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    def decline_offer(self, offer_id: str, filters: Any) -> None:
        self.calls.append(("decline", (offer_id, filters.refuse_seconds)))

    def suppress_offers(self, roles: Any = ()) -> None:
        self.calls.append(("suppress", tuple(roles)))

    def revive_offers(self, roles: Any = ()) -> None:
        self.calls.append(("revive", tuple(roles)))


def _offer(i: int) -> Offer:
    return Offer(id=f"o{i}", framework_id="f", agent_id=f"a{i}", hostname="h")


def test_unused_offers_are_declined_long_and_idle_suppresses_once() -> None:
    work = [1]
    driver: Any = Recorder()
    citizen = Citizen(lambda: bool(work))
    citizen.settle(driver, [_offer(1), _offer(2)], used=["o1"])
    assert driver.calls == [("decline", ("o2", DECLINE_SECONDS))]
    work.clear()
    citizen.settle(driver, [_offer(3)])
    citizen.settle(driver, [])
    assert driver.calls[1:] == [("decline", ("o3", DECLINE_SECONDS)), ("suppress", ())]
    assert citizen.suppressed and citizen.suppressions == 1


def test_work_arriving_revives_once_per_burst() -> None:
    driver: Any = Recorder()
    citizen = Citizen(lambda: False, roles=["batch"])
    citizen.idle(driver)
    citizen.want(driver)
    citizen.want(driver)  # already revived: nothing more to say
    assert driver.calls == [("suppress", ("batch",)), ("revive", ("batch",))]
    assert not citizen.suppressed and citizen.revivals == 1


def test_a_new_master_starts_over() -> None:
    driver: Any = Recorder()
    wanted = [False]
    citizen = Citizen(lambda: wanted[0])
    citizen.idle(driver)
    citizen.registered(driver)  # nothing wanted: suppress again at the new master
    assert driver.calls == [("suppress", ()), ("suppress", ())]
    wanted[0] = True
    citizen.registered(driver)  # work, and maybe an earlier instance's filters: revive
    assert not citizen.suppressed and driver.calls[2:] == [("revive", ())]
