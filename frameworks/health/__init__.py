"""Task health checks (Mesos' ``src/checks``): the checker and the probes it runs.

``HealthChecker`` decides when to check and what results mean (``checker``, pure of
I/O); ``SystemProber`` runs COMMAND, HTTP and TCP checks on worker threads
(``probes``). The command executor creates one checker per task that has a
``HealthCheck``; a custom executor may do the same.
"""

from frameworks.health.checker import HealthChecker, HealthVerdicts, Prober, ProbeResult
from frameworks.health.probes import SystemProber

__all__ = ["HealthChecker", "HealthVerdicts", "ProbeResult", "Prober", "SystemProber"]
