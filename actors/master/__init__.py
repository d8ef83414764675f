"""The master: registers agents and frameworks, turns allocations into offers, launches.

``MasterActor`` (``actor``) is the thin actor; the books it keeps and the decisions it
makes live beside it, split by concern: ``frameworks``, ``agents``, ``offers``,
``tasks``, ``launch`` (accepting offers), ``validation``, ``reconciliation``, ``http`` (the
routes: ``/master/state``...) over ``endpoints`` and ``views`` (their JSON) and
``metrics`` (``/metrics/snapshot``). ``config`` holds ``MasterConfig`` and the ``meseta-master``
flags; ``main`` is the console script.
"""

from actors.master.config import MasterConfig

__all__ = ["MasterConfig"]
