"""The mapreduce framework: a Spark-like data-parallel example of subclassing both
``Scheduler`` and ``Executor``.

Run ``python -m frameworks.mapreduce --master=H:P --job=pi|wordcount ...`` (``cli``).
The pieces, each its own module:

- ``jobs`` — the pure map/reduce logic: a job's work items, ``run_item`` (map) and the
  reduce. Unit-tested without a cluster; ``Job.local_answer`` is the reference.
- ``scheduler`` — ``MapReduceScheduler``: Spark's coarse-grained model. One long-lived
  worker task per agent on its own executor (``cpus`` = slots), work items dealt as
  framework messages, results merged; late or lost items sent again (``tracker``).
- ``executor`` — ``MapReduceExecutor``: runs items on a ``WorkerPool`` (``pool``) of
  worker processes (``worker``), one per slot, and sends each result back.
- ``protocol`` — the JSON framework messages (``work``, ``result``, ``stop``).

Why worker processes and not threads: the map functions are pure Python, so threads
share one GIL. Measured on a 2-core machine, 8 pi items of 300,000 samples each with 2
slots: 2 threads take as long as 1 (~1.0x), 2 worker processes finish ~1.8x faster. A
worker process starts in ~40 ms (it imports the standard library and ``jobs`` only) and
lives as long as its executor.
"""

__all__: list[str] = []
