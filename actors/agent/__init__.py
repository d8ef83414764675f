"""The agent: one per machine, it offers the machine's resources and runs executors.

``AgentActor`` (``actor``) is the process ``agent`` on the agent's node; ``main`` is
the ``meseta-agent`` program that starts it. ``actor`` is the wiring and the handler
table; the actor inherits its work from one chain of mixins: ``registration`` (with
the master: backoff, credential, pings, leader detection), ``executor_api`` (Mesos'
executor HTTP API), ``recovering`` (after a restart), ``running`` / ``endings``
(executors and tasks start and end), ``messaging`` (to executors and the master),
``sandboxes`` (fetcher, GC, ``/files/*``). The rest are its parts, each with a module
docstring: ``config`` (``AgentConfig``; the flags in ``command_line``, defaults in
``defaults``), ``detect`` (resources), ``sandbox``, ``launcher`` / ``warm`` (executor
processes), ``status_updates`` (reliable delivery), ``executors`` / ``tasks`` (records
and rules), ``recovery`` / ``checkpointer`` (the checkpoint), ``containerizer``,
``state`` (``/state``), ``endpoints`` (the other routes and ``/metrics/snapshot``).
Importing this package starts nothing: the warm launcher's helper imports it too.
"""

from actors.agent.config import AgentConfig

__all__ = ["AgentConfig"]
