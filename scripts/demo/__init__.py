"""The utilization demo (``scripts/utilization``): static partitions vs one shared pool.

``timeline`` (pure: samples → makespan, mean utilization, per-framework series),
``workload`` (the mixed, bursty work of the three frameworks, as files and argv),
``run`` (a 9-agent local cluster per mode, the frameworks, the sampler), ``plot``
(matplotlib), ``main`` (the command line).
"""
