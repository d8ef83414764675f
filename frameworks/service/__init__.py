"""The service framework: a Marathon-like framework that keeps long-running apps running.

It is also the worked example of a bigger ``Scheduler`` subclass. Read it in this order:

- ``spec`` — app specs in Marathon's JSON shape (``id``, ``cmd``, ``instances``,
  ``cpus``/``mem``/``disk``, ``ports``, ``env``, ``healthChecks``, ``constraints``,
  backoff, ``upgradeStrategy``, ``role``) and their validation;
- ``constraints`` and ``tasks`` — where an instance may go, what it takes from an
  offer, the ``TaskInfo`` it becomes;
- ``planner`` — the decisions, pure: what to launch on an offer, what to kill (scale
  down, rolling restart), the restart backoff;
- ``scheduler`` — ``ServiceScheduler``, the thin ``Scheduler`` that applies them:
  registration with a saved framework id, reconciliation and adoption, offers through
  ``frameworks.citizen.Citizen``;
- ``state`` (the ``--state_dir`` file), ``operations`` and ``http_api`` (Marathon's
  ``/v2/apps``), ``cli`` (``python -m frameworks.service run|apps|scale|...``).
"""

from frameworks.service.scheduler import ServiceScheduler
from frameworks.service.spec import AppSpec, SpecError, parse_app, parse_apps

__all__ = ["AppSpec", "ServiceScheduler", "SpecError", "parse_app", "parse_apps"]
