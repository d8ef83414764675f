"""The agent: one per machine, it offers the machine's resources and runs executors.

``AgentActor`` (``actor``) is the process ``agent`` on the agent's node; ``main`` is
the ``meseta-agent`` program that starts it. The rest are its parts, each with a
module docstring: ``config`` (flags), ``detect`` (resources), ``sandbox``,
``launcher`` / ``warm`` (executor processes), ``status_updates`` (reliable delivery),
``executors`` / ``tasks`` / ``running`` (records and rules), ``state`` (``/state``),
``endpoints`` (the other routes and ``/metrics/snapshot``).
Importing this package starts nothing: the warm launcher's helper imports it too.
"""

from actors.agent.config import AgentConfig

__all__ = ["AgentConfig"]
