"""The ``meseta-agent`` command line: ``flags()`` and the parsing of its values.

``config`` re-exports ``flags`` (``actors.agent.main`` calls ``flags().parse(argv)``
and hands the result to ``config.from_flags``). Flag names and defaults are Mesos'
agent flags (``src/slave/flags.cpp``, defaults in ``defaults``); every flag has its
``MESETA_<NAME>`` fallback (``transport.flags``). The value parsers and checks here
raise or return a ``FlagError`` message, so a bad flag exits with it:
``master_flag`` (``--master``: ``HOST:PORT``, resolved to an IP by ``master_pid``, or a
``zk://`` URL), resources, attributes, isolation, ``--cgroups_root``, the GC
headroom, the executor re-registration bound, the credential. The security flags
(``actors.authorization.config``), CURVE (``transport.curve``) and the executor
tokens (``executor_auth``) add their own.
"""

from __future__ import annotations

import ipaddress
import socket

from actors.agent import executor_auth
from actors.agent.containerizer.limits import DEFAULT_ISOLATION, parse_isolation
from actors.agent.defaults import (
    DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT,
    DEFAULT_EXECUTOR_REREGISTRATION_RETRY_INTERVAL,
    DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT,
    DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD,
    DEFAULT_RECOVERY_TIMEOUT,
    DEFAULT_REGISTRATION_BACKOFF_FACTOR,
    MAX_EXECUTOR_REREGISTRATION_TIMEOUT,
)
from actors.agent.gc import (
    DEFAULT_DISK_WATCH_INTERVAL,
    DEFAULT_GC_DELAY,
    DEFAULT_GC_DISK_HEADROOM,
)
from actors.authorization import config as security_flags
from actors.messages.authentication import Credential, load_credential
from actors.messages.info import parse_attributes
from actors.resources import Resources
from transport.affinity import check_cpu_affinity
from transport.curve import add_curve_flags
from transport.flags import (
    Duration,
    FlagError,
    Flags,
    not_negative,
    one_of,
    port_number,
    positive,
)
from transport.pid import PID

__all__ = ["flags", "master_flag", "master_pid"]


def master_pid(text: str) -> PID:
    """``HOST:PORT`` (or a full ``master@HOST:PORT``) -> the master's PID."""
    text = text.strip()
    if "@" in text:
        return PID.parse(text)
    host, colon, port = text.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) <= 65535:
        raise FlagError(f"{text!r} is not HOST:PORT (e.g. 127.0.0.1:5050)")
    return PID("master", _ip_of(host), int(port))


def _ip_of(host: str) -> str:
    """The IP of a master named by hostname: the master's PID carries its IP, and the
    agent heeds master messages only from that PID (as Mesos resolves ``--master``)."""
    try:
        ipaddress.ip_address(host.strip("[]"))
        return host
    except ValueError:
        pass
    try:
        return socket.gethostbyname(host)
    except OSError:  # unresolvable now: keep the name (registration retries will tell)
        return host


def master_flag(text: str) -> PID | str:
    """``--master``: ``HOST:PORT`` (a PID, see ``master_pid``) or a ``zk://`` URL (kept)."""
    text = text.strip()
    if not text.startswith("zk://"):
        return master_pid(text)
    from actors.ha.zk_url import parse_zk_url  # kazoo is imported only when zk is used

    try:
        return str(parse_zk_url(text))
    except ValueError as exc:
        raise FlagError(str(exc)) from None


def _resources(text: str) -> Resources:
    try:
        return Resources.parse(text)
    except ValueError as exc:
        raise FlagError(f"bad resources: {exc}") from None


def _attributes(text: str) -> str:
    try:
        parse_attributes(text)
    except ValueError as exc:
        raise FlagError(str(exc)) from None
    return text


def _isolation(text: str) -> str:
    try:
        parse_isolation(text)
    except ValueError as exc:
        raise FlagError(str(exc)) from None
    return text


def _cgroups_root(text: str) -> str | None:
    if not text or "/" in text or text in (".", ".."):
        return "must be one directory name (e.g. meseta)"
    return None


def _headroom(value: float) -> str | None:
    return None if 0.0 <= value <= 1.0 else "must be in [0.0, 1.0]"


def _reregistration_timeout(value: Duration) -> str | None:
    if float(value) > MAX_EXECUTOR_REREGISTRATION_TIMEOUT:
        return f"must be at most {MAX_EXECUTOR_REREGISTRATION_TIMEOUT:g}secs"
    return positive(value)


def _credential(value: str) -> Credential:
    return load_credential(value, "credential")


def flags() -> Flags:
    """The ``meseta-agent`` flags, Mesos' names and defaults."""
    f = Flags("meseta-agent", "Run a Meseta agent: it offers this machine's resources to "
              "the master and runs the executors of frameworks' tasks.")
    f.add("ip", str, "127.0.0.1", "IP address to listen on")
    f.add("port", int, 5051, "port of the agent's ZeroMQ endpoint", check=port_number)
    f.add("http_port", int, None, "HTTP port (default: --port + 100; 0 picks a free one)",
          check=port_number)
    f.add("master", master_flag, None,
          "the master, as HOST:PORT, or zk://host:port[,host:port]/path to follow the "
          "leading master through ZooKeeper (required)")
    f.add("work_dir", str, "/tmp/meseta", "where sandboxes are created")
    f.add("gc_delay", Duration, Duration(DEFAULT_GC_DELAY), "finished sandboxes are "
          "removed this long after (sooner as the disk fills, see --gc_disk_headroom)",
          check=not_negative)
    f.add("disk_watch_interval", Duration, Duration(DEFAULT_DISK_WATCH_INTERVAL),
          "how often the work_dir's disk usage is checked (and sandboxes pruned)",
          check=positive)
    f.add("gc_disk_headroom", float, DEFAULT_GC_DISK_HEADROOM, "share of the disk to keep "
          "free: sandboxes older than gc_delay * max(0, 1 - headroom - usage) are pruned",
          check=_headroom)
    f.add("resources", _resources, None,
          "total consumable resources (cpus:4;mem:4096;ports:[31000-32000] or JSON); "
          "unset ones are detected")
    f.add("attributes", _attributes, "", "attributes of the machine (rack:a;zone:b)")
    f.add("hostname", str, "", "hostname advertised to the master (default: --ip)")
    f.add("executor_registration_timeout", Duration,
          Duration(DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT),
          "time an executor has to register before it is killed", check=positive)
    f.add("executor_shutdown_grace_period", Duration,
          Duration(DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD),
          "time between asking an executor to shut down and killing it", check=not_negative)
    f.add("registration_backoff_factor", Duration,
          Duration(DEFAULT_REGISTRATION_BACKOFF_FACTOR),
          "first registration retry after a random delay up to this, doubling to 1mins",
          check=not_negative)
    f.add("launcher", str, "warm", "warm (fork executors from a warm helper) or subprocess",
          check=one_of("warm", "subprocess"))
    f.add("recover", str, "reconnect", "after a restart: reconnect to the live executors "
          "of checkpointing frameworks, or cleanup (kill them and exit)",
          check=one_of("reconnect", "cleanup"))
    f.add("strict", bool, True, "a corrupt checkpoint makes recovery fail (else the bad "
          "entry is skipped and logged)")
    f.add("reconfiguration_policy", str, "equal", "which agent info changes a restarted "
          "agent may keep its id through: equal (none: hostname, port, resources, attributes "
          "and domain as before) or additive (resources may grow, attributes be added)",
          check=one_of("equal", "additive"))
    f.add("executor_reregistration_timeout", Duration,
          Duration(DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT),
          "time recovered executors have to re-register after a restart (at most 15secs)",
          check=_reregistration_timeout)
    f.add("executor_reregistration_retry_interval", Duration,
          Duration(DEFAULT_EXECUTOR_REREGISTRATION_RETRY_INTERVAL),
          "re-send ReconnectExecutor this often to a recovered executor that has not "
          "answered yet (0: send it once)", check=not_negative)
    f.add("recovery_timeout", Duration, Duration(DEFAULT_RECOVERY_TIMEOUT),
          "time a checkpointing executor waits for its agent to come back before it exits",
          check=positive)
    f.add("isolation", _isolation, DEFAULT_ISOLATION,
          "isolators, comma-separated: posix/cpu,posix/mem (usage, and a watchdog that "
          "kills a container over its memory) or cgroups/cpu,cgroups/mem[,cgroups/pids] "
          "(kernel limits; needs the cgroup controllers)")
    f.add("cgroups_root", str, "meseta", "name of the cgroup, under the agent's own in "
          "each hierarchy, that holds the containers' cgroups", check=_cgroups_root)
    add_curve_flags(f)
    f.add("credential", _credential, None, "file with this agent's principal and secret "
          "('principal secret', or Mesos' JSON; /path, file://path or inline): authenticate "
          "with the master before registering")
    f.add("trace", bool, False, "log every message sent and received")
    f.add("cpu_affinity", str, "auto", "where this node's Python threads run: auto (one "
          "core, the least busy, rechecked), none (anywhere) or a CPU number",
          check=check_cpu_affinity)
    f.add("log_level", str, "info", "debug, info, warning or error",
          check=one_of("debug", "info", "warning", "error"))
    f.add("log_format", str, "console", "console or json", check=one_of("console", "json"))
    f.add("switch_user", bool, True, "run each executor as its task's user (CommandInfo.user, "
          "else FrameworkInfo.user) when the agent runs as root; else as the agent's user")
    security_flags.add_flags(f)
    executor_auth.add_flags(f)
    return f
