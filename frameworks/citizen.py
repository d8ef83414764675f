"""``Citizen``: how a framework stays a good neighbour on a shared cluster.

What hurt Mesos users most was offer starvation: frameworks that held offers, declined
them with the default 5 s filter (so the same resources came back to them every few
seconds, and to nobody else), or kept receiving offers while they had nothing to run.
A framework owns one ``Citizen`` and lets it handle the offers it does not use:

- ``settle(driver, offers, used)`` — called at the end of ``resource_offers``: every
  offer not in ``used`` is declined at once with a long filter (``refuse_seconds``,
  120 s by default, as Marathon's ``decline_offer_duration``), and when the framework
  has nothing left to launch (``wants()`` is False) it suppresses offers;
- ``want(driver)`` — call when work arrives (a new job, a scale-up, a failed task to
  restart): it revives offers if they were suppressed or declined, which also clears the
  long filters, so the work gets resources at the next allocation;
- ``idle(driver)`` — suppress now (e.g. after the last task was launched).

Revive and suppress are sent only on a change, so calling ``want`` for every new item of
work costs one message per burst. After a (re-)registration call ``registered(driver)``:
a new master knows nothing of our suppression, and a failed-over framework may inherit
its earlier instance's filters, so it revives when work is wanted and suppresses if not.
Any thread may call these methods (a framework's HTTP API or CLI thread, or the
driver's callbacks).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence

from actors.messages import Filters, Offer
from frameworks.scheduler_driver import SchedulerDriver

__all__ = ["DECLINE_SECONDS", "Citizen"]

DECLINE_SECONDS = 120.0
"""How long declined resources stay away from us (the allocator offers them to others)."""


class Citizen:
    """Offer etiquette for one framework; see the module docstring."""

    def __init__(self, wants: Callable[[], bool], refuse_seconds: float = DECLINE_SECONDS,
                 roles: Sequence[str] = ()) -> None:
        self.wants = wants
        """True while the framework has work that needs offers."""
        self.refuse_seconds = refuse_seconds
        self.roles = tuple(roles)
        """Roles to suppress/revive (empty: all the framework's roles)."""
        self._lock = threading.Lock()
        self._suppressed = False
        self._filtered = False
        """Some offer was declined with the long filter since the last revive."""
        self.suppressions = 0
        self.revivals = 0

    @property
    def suppressed(self) -> bool:
        with self._lock:
            return self._suppressed

    def registered(self, driver: SchedulerDriver) -> None:
        """A (new) master registered us: it offers to us until told otherwise.

        A framework that failed over (same id) may inherit its earlier instance's long
        decline filters, so when there is work it revives at once.
        """
        with self._lock:
            self._suppressed = False
            self._filtered = True
        if self.wants():
            self.want(driver)
        else:
            self.idle(driver)

    def settle(self, driver: SchedulerDriver, offers: Iterable[Offer],
               used: Iterable[str] = ()) -> None:
        """Decline every offer not ``used`` (long filter); suppress when nothing is wanted."""
        taken = set(used)
        declined = [o.id for o in offers if o.id not in taken]
        flt = Filters(refuse_seconds=self.refuse_seconds)
        for offer_id in declined:
            driver.decline_offer(offer_id, flt)
        if declined:
            with self._lock:
                self._filtered = True
        if not self.wants():
            self.idle(driver)

    def want(self, driver: SchedulerDriver) -> None:
        """Work arrived: make sure offers come (revive once if suppressed or filtered)."""
        with self._lock:
            if not (self._suppressed or self._filtered):
                return
            self._suppressed = False
            self._filtered = False
            self.revivals += 1
        driver.revive_offers(self.roles)

    def idle(self, driver: SchedulerDriver) -> None:
        """Nothing to launch: stop offers until ``want``."""
        with self._lock:
            if self._suppressed:
                return
            self._suppressed = True
            self.suppressions += 1
        driver.suppress_offers(self.roles)
