"""Example frameworks to run on a local cluster (``./scripts/cluster --framework NAME``).

- ``sleepy``: a scheduler that runs N command tasks (``echo task i; sleep 0.5``) across
  the offers it gets, printing progress, and stops when they are all done;
- ``hello_scheduler`` + ``hello_executor``: tasks run by a custom executor
  (``TaskInfo.executor``) that talks with its scheduler through framework messages.

Each is a module with a ``main()``: ``python -m frameworks.examples.sleepy
--master=127.0.0.1:5050 --tasks=20``.
"""
