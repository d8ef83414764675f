"""The mapreduce framework: a Spark-like data-parallel example of subclassing both
``Scheduler`` and ``Executor``.

Run ``python -m frameworks.mapreduce --master=H:P --job=pi|wordcount ...`` (``cli``).
The pieces, each its own module:

- ``jobs`` — the pure map/reduce logic: a job's work items, ``run_item`` (map) and the
  reduce. Unit-tested without a cluster; ``Job.local_answer`` is the reference.
- ``scheduler`` — ``MapReduceScheduler``: Spark's coarse-grained model. One long-lived
  worker task per agent on its own executor (``cpus`` = slots), work items dealt as
  framework messages, results merged; late or lost items sent again (``tracker``).
  ``fleet`` holds its knobs (``Config``), its executor records and the worker task.
- ``executor`` — ``MapReduceExecutor``: runs items on a ``WorkerPool`` (``pool``) of
  worker processes (``worker``), one per slot, and sends each result back.
- ``protocol`` — the JSON framework messages (``work``, ``result``, ``stop``).

Why worker processes and not threads: the map functions are pure Python, so threads
share one GIL. ``./scripts/bench mapreduce`` runs the same 8 pi items (2,000,000 samples
each) on 1 and 2 threads and on 1 and 2 worker processes, on a shared 2-core VM (medians of
5 rounds; speedup = 1-slot time / 2-slot time): with the machine fairly quiet (load 0.4,
3 rounds) threads 0.97x, processes 1.57x; at load 3.7 threads 1.16x, processes 1.52x; when
other work fills both cores (load 8-9) neither gains much (threads 0.86-0.91x, processes
1.02-1.19x). A worker process starts in 50-270 ms (``pool_start_s``; it imports the
standard library and ``jobs`` only) and lives as long as its executor.
"""

__all__: list[str] = []
