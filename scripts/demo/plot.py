"""The demo's figure: both runs' cpus over time, stacked per framework (matplotlib, Agg)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from demo.timeline import Timeline

__all__ = ["plot"]

COLORS = {"service": "#4C72B0", "batch": "#DD8452", "analytics": "#55A868"}


def plot(static: Timeline, shared: Timeline, total_cpus: float, path: str) -> None:
    """Write a PNG with one panel per mode, on the same time axis."""
    end = max(static.makespan_s, shared.makespan_s) * 1.08 or 1.0
    names = sorted(set(static.frameworks()) | set(shared.frameworks()))
    fig, axes = plt.subplots(2, 1, figsize=(9, 6), sharex=True, constrained_layout=True)
    for ax, tl, title in ((axes[0], static, "Static partitions (3 agents per framework)"),
                          (axes[1], shared, "Shared pool (9 agents, DRF)")):
        times, series = tl.series()
        ax.stackplot(times, *[series.get(n, [0.0] * len(times)) for n in names], labels=names,
                     colors=[COLORS.get(n, "#999999") for n in names], step="post",
                     alpha=0.9)
        ax.axhline(total_cpus, color="black", linewidth=0.8)
        ax.axvline(tl.makespan_s, color="red", linestyle="--", linewidth=1)
        ax.set_ylim(0, total_cpus * 1.05)
        ax.set_xlim(0, end)
        ax.set_ylabel("cpus in use")
        ax.set_title(f"{title}: work done in {tl.makespan_s:.1f} s, "
                     f"mean utilization {100 * tl.mean_utilization():.0f} %", fontsize=10)
    axes[0].legend(loc="upper right", fontsize=8)
    axes[1].set_xlabel("seconds since the frameworks started")
    fig.savefig(path, dpi=110)
    plt.close(fig)
