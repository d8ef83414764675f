"""``ResourceStatistics``: one container's resource usage, as the agent's monitor reports it.

The agent's resource monitor samples each executor's container (through the
containerizer) and serves the samples at ``/monitor/statistics``; later the master
or an operator tool may carry them in messages. Field names and meanings follow
Mesos' ``ResourceStatistics`` (``include/mesos/mesos.proto``); a field the
containerizer cannot measure (no cgroups, no network namespace) stays ``None``.
"""

from __future__ import annotations

from transport.codec import record

__all__ = ["ResourceStatistics"]


@record
class ResourceStatistics:
    """A snapshot of one container's usage; ``timestamp`` in seconds since the epoch."""

    timestamp: float
    processes: int | None = None
    threads: int | None = None
    cpus_user_time_secs: float | None = None
    cpus_system_time_secs: float | None = None
    cpus_limit: float | None = None
    """CPU shares the container may use (its ``cpus`` resources)."""
    cpus_nr_periods: int | None = None
    cpus_nr_throttled: int | None = None
    cpus_throttled_time_secs: float | None = None
    mem_total_bytes: int | None = None
    mem_rss_bytes: int | None = None
    mem_limit_bytes: int | None = None
    mem_cache_bytes: int | None = None
    mem_swap_bytes: int | None = None
    disk_limit_bytes: int | None = None
    disk_used_bytes: int | None = None
    net_rx_packets: int | None = None
    net_rx_bytes: int | None = None
    net_rx_errors: int | None = None
    net_rx_dropped: int | None = None
    net_tx_packets: int | None = None
    net_tx_bytes: int | None = None
    net_tx_errors: int | None = None
    net_tx_dropped: int | None = None
