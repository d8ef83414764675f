"""The agent's configuration: ``AgentConfig`` and the ``meseta-agent`` flags.

``actors.agent.main`` parses the flags (``flags().parse(argv)``), turns them into an
``AgentConfig`` with ``from_flags`` and hands it to ``AgentActor(node, config)``; tests
build an ``AgentConfig`` directly. Flag names and defaults are Mesos' agent flags
(``src/slave/flags.cpp``); every flag has its ``MESETA_<NAME>`` fallback.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
from dataclasses import dataclass, field
from typing import Any

from actors.agent import executor_auth
from actors.agent.containerizer.limits import DEFAULT_ISOLATION, parse_isolation
from actors.agent.gc import (
    DEFAULT_DISK_WATCH_INTERVAL,
    DEFAULT_GC_DELAY,
    DEFAULT_GC_DISK_HEADROOM,
)
from actors.authorization import config as security_flags
from actors.authorization.config import SecurityConfig
from actors.messages.authentication import Credential, load_credential
from actors.messages.info import Attribute, parse_attributes
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

__all__ = [
    "DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT",
    "DEFAULT_EXECUTOR_REREGISTRATION_RETRY_INTERVAL",
    "DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT",
    "DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD",
    "DEFAULT_RECOVERY_TIMEOUT",
    "DEFAULT_REGISTRATION_BACKOFF_FACTOR",
    "MAX_EXECUTOR_REREGISTRATION_TIMEOUT",
    "REGISTRATION_RETRY_INTERVAL_MAX",
    "STATUS_UPDATE_RETRY_INTERVAL_MAX",
    "STATUS_UPDATE_RETRY_INTERVAL_MIN",
    "AgentConfig",
    "flags",
    "from_flags",
    "master_flag",
    "master_pid",
]

DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT = 60.0
"""Seconds an executor has to register before it is killed (Mesos: 1 min)."""

DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD = 5.0
"""Seconds between ShutdownExecutor and the kill of the executor's processes (Mesos: 5 s)."""

DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT = 2.0
"""Seconds a restarted agent waits for its recovered executors to re-register (Mesos: 2 s)."""

MAX_EXECUTOR_REREGISTRATION_TIMEOUT = 15.0
"""Upper bound of ``--executor_reregistration_timeout`` (Mesos: 15 s)."""

DEFAULT_EXECUTOR_REREGISTRATION_RETRY_INTERVAL = 1.0
"""Seconds between ReconnectExecutor re-sends (Mesos' flag has no default: no re-sends;
our executors cannot re-link a stale connection, so re-sending is on by default)."""

DEFAULT_RECOVERY_TIMEOUT = 900.0
"""Seconds a checkpointing executor waits for its disconnected agent (Mesos: 15 mins)."""

DEFAULT_REGISTRATION_BACKOFF_FACTOR = 0.5
"""The first registration goes out after a random delay in [0, this].

Mesos' default is 1 s, to spread a new master's herd of re-registering agents. Ours
admits them in batches (the registry worker: 1,000 agents in ~0.15 s), so half of it
spreads them enough and cuts ~0.5 s off every failover (``scripts/bench failover``)."""

REGISTRATION_RETRY_INTERVAL_MAX = 60.0
"""Registration retries back off up to this (Mesos ``REGISTER_RETRY_INTERVAL_MAX``)."""

STATUS_UPDATE_RETRY_INTERVAL_MIN = 10.0
"""First re-send of an unacknowledged status update (Mesos' constants.hpp)."""

STATUS_UPDATE_RETRY_INTERVAL_MAX = 600.0
"""Status update re-sends back off up to this (10 min)."""

DEFAULT_MASTER = PID("master", "127.0.0.1", 5050)


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentConfig:
    """Knobs of the agent (Mesos agent flags of the same names)."""

    ip: str = "127.0.0.1"
    port: int = 5051
    http_port: int | None = None
    """``None``: ``port + 100`` (see ``effective_http_port``); 0 picks a free port."""
    master: PID = DEFAULT_MASTER
    zk: str = ""
    """``--master=zk://host:port/path``: follow the leading master through ZooKeeper
    (``master`` is then unused until a leader is detected); ``""``: ``master`` it is."""
    work_dir: str = "/tmp/meseta"
    gc_delay: float = DEFAULT_GC_DELAY
    """Finished sandboxes are removed this long after (sooner as the disk fills)."""
    disk_watch_interval: float = DEFAULT_DISK_WATCH_INTERVAL
    gc_disk_headroom: float = DEFAULT_GC_DISK_HEADROOM
    resources: Resources | None = None
    """What ``--resources`` said; ``None`` or partial: the rest is detected (``detect``)."""
    attributes: str = ""
    """``--attributes`` text (``rack:a;zone:b``); parsed by ``parsed_attributes``."""
    hostname: str = ""
    """Advertised in AgentInfo; ``""``: the ip."""
    executor_registration_timeout: float = DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT
    executor_shutdown_grace_period: float = DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD
    registration_backoff_factor: float = DEFAULT_REGISTRATION_BACKOFF_FACTOR
    launcher: str = "warm"
    """``warm`` (fork executors from a warm helper) or ``subprocess``."""
    checkpoint: bool = True
    """AgentInfo.checkpoint: this agent checkpoints (always, as since Mesos 1.0)."""
    recover: str = "reconnect"
    """``reconnect`` to the live executors of checkpointing frameworks after a restart, or
    ``cleanup``: kill them, and exit once they are gone."""
    strict: bool = True
    """A corrupt checkpoint stops the agent (else the bad entry is skipped and logged)."""
    reconfiguration_policy: str = "equal"
    """Which changes of the agent info a restart may keep its id through: ``equal`` (none)
    or ``additive`` (more resources, new attributes; ``actors.agent.compatibility``)."""
    executor_reregistration_timeout: float = DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT
    executor_reregistration_retry_interval: float = DEFAULT_EXECUTOR_REREGISTRATION_RETRY_INTERVAL
    """0: send ReconnectExecutor once."""
    recovery_timeout: float = DEFAULT_RECOVERY_TIMEOUT
    """Given to checkpointing executors (``MESETA_RECOVERY_TIMEOUT``)."""
    boot_id: str = ""
    """The machine's boot id; ``""``: ``MESETA_BOOT_ID`` (a test aid) or /proc's."""
    status_update_retry_min: float = STATUS_UPDATE_RETRY_INTERVAL_MIN
    status_update_retry_max: float = STATUS_UPDATE_RETRY_INTERVAL_MAX
    isolation: str = DEFAULT_ISOLATION
    """``--isolation``: ``posix/cpu,posix/mem`` or ``cgroups/cpu,cgroups/mem[,cgroups/pids]``
    (``actors.agent.containerizer``)."""
    cgroups_root: str = "meseta"
    """The containers' cgroups live in ``<the agent's own cgroup>/<cgroups_root>/``."""
    curve: bool = False
    """CurveZMQ on every connection (``transport.curve``; keys from ``curve_keys``)."""
    curve_keys: str = ""
    curve_name: str = ""
    credential: Credential | None = None
    """Authenticate with this before registering (``--credential``; Mesos' CRAM)."""
    trace: bool = False
    cpu_affinity: str = "auto"
    """Where the node's Python threads run (``transport.affinity``): auto, none or a CPU."""
    log_level: str = "info"
    log_format: str = "console"
    switch_user: bool = True
    """Run executors as their task's user (``CommandInfo.user``, else ``FrameworkInfo.user``)
    when the agent runs as root (``actors.agent.users``); else as the agent's user."""
    security: SecurityConfig = field(default_factory=SecurityConfig)
    """ACLs (``access_sandboxes``, ``view_*``), HTTP authentication and TLS."""
    authenticate_http_executors: bool = False
    """``/api/v1/executor`` needs the executor's token (``actors.agent.executor_auth``)."""
    jwt_secret_key: bytes = field(default=b"", repr=False)
    """The key executors' tokens are signed with (the ``--jwt_secret_key`` file's bytes);
    ``b""``: executors get no token."""
    jwt_secret_key_file: str = ""
    """Where that key was read from (shown by ``/flags``, never the key)."""

    def __post_init__(self) -> None:
        if self.launcher not in ("warm", "subprocess"):
            raise ValueError("launcher must be warm or subprocess")
        if self.recover not in ("reconnect", "cleanup"):
            raise ValueError("recover must be reconnect or cleanup")
        if self.reconfiguration_policy not in ("equal", "additive"):
            raise ValueError("reconfiguration_policy must be equal or additive")
        if not 0 < self.executor_reregistration_timeout <= MAX_EXECUTOR_REREGISTRATION_TIMEOUT:
            raise ValueError("executor_reregistration_timeout must be in (0, 15secs]")
        for name in ("executor_registration_timeout", "status_update_retry_min",
                     "status_update_retry_max", "recovery_timeout"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.executor_reregistration_retry_interval < 0:
            raise ValueError("executor_reregistration_retry_interval must not be negative")
        if self.executor_shutdown_grace_period < 0 or self.registration_backoff_factor < 0:
            raise ValueError("grace period and backoff factor must not be negative")
        parse_attributes(self.attributes)
        parse_isolation(self.isolation)
        if not self.cgroups_root or "/" in self.cgroups_root or self.cgroups_root in (".", ".."):
            raise ValueError("cgroups_root must be one directory name")
        if self.gc_delay < 0 or self.disk_watch_interval <= 0 \
                or not 0.0 <= self.gc_disk_headroom <= 1.0:
            raise ValueError("gc_delay >= 0, disk_watch_interval > 0, gc_disk_headroom "
                             "in [0, 1]")

    @property
    def effective_http_port(self) -> int:
        return self.port + 100 if self.http_port is None else self.http_port

    @property
    def parsed_attributes(self) -> tuple[Attribute, ...]:
        return parse_attributes(self.attributes)

    def to_flags(self) -> dict[str, Any]:
        """The flags as ``/state`` shows them (Mesos' ``flags`` object: strings)."""
        return {
            "ip": self.ip, "port": str(self.port), "http_port": str(self.effective_http_port),
            "master": self.zk or f"{self.master.host}:{self.master.port}",
            "work_dir": self.work_dir,
            "gc_delay": f"{self.gc_delay}secs",
            "disk_watch_interval": f"{self.disk_watch_interval}secs",
            "gc_disk_headroom": str(self.gc_disk_headroom),
            "resources": "" if self.resources is None else str(self.resources),
            "attributes": self.attributes, "hostname": self.hostname or self.ip,
            "executor_registration_timeout": f"{self.executor_registration_timeout}secs",
            "executor_shutdown_grace_period": f"{self.executor_shutdown_grace_period}secs",
            "registration_backoff_factor": f"{self.registration_backoff_factor}secs",
            "launcher": self.launcher, "trace": str(self.trace).lower(),
            "recover": self.recover, "strict": str(self.strict).lower(),
            "reconfiguration_policy": self.reconfiguration_policy,
            "executor_reregistration_timeout": f"{self.executor_reregistration_timeout}secs",
            "executor_reregistration_retry_interval":
                f"{self.executor_reregistration_retry_interval}secs",
            "recovery_timeout": f"{self.recovery_timeout}secs",
            "cpu_affinity": self.cpu_affinity, "curve": str(self.curve).lower(),
            "curve_keys": self.curve_keys,
            "credential": self.credential.principal if self.credential else "",
            "isolation": self.isolation, "cgroups_root": self.cgroups_root,
            "log_level": self.log_level, "log_format": self.log_format,
            "switch_user": str(self.switch_user).lower(),
            "authenticate_http_executors": str(self.authenticate_http_executors).lower(),
            "jwt_secret_key": self.jwt_secret_key_file,
            **self.security.flags_json(),
        }


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


def from_flags(ns: argparse.Namespace) -> AgentConfig:
    """Build the config from parsed flags; ``FlagError`` when ``--master`` is missing."""
    if ns.master is None:
        raise FlagError("--master is required (HOST:PORT of the master, or MESETA_MASTER)")
    zk = ns.master if isinstance(ns.master, str) else ""
    key_file = ns.jwt_secret_key or ns.executor_secret_key
    return AgentConfig(
        ip=ns.ip, port=ns.port, http_port=ns.http_port,
        master=DEFAULT_MASTER if zk else ns.master, zk=zk,
        work_dir=ns.work_dir, gc_delay=float(ns.gc_delay),
        disk_watch_interval=float(ns.disk_watch_interval),
        gc_disk_headroom=float(ns.gc_disk_headroom), resources=ns.resources,
        attributes=ns.attributes,
        hostname=ns.hostname,
        executor_registration_timeout=float(ns.executor_registration_timeout),
        executor_shutdown_grace_period=float(ns.executor_shutdown_grace_period),
        registration_backoff_factor=float(ns.registration_backoff_factor),
        launcher=ns.launcher, trace=bool(ns.trace), cpu_affinity=ns.cpu_affinity,
        recover=ns.recover, strict=bool(ns.strict),
        reconfiguration_policy=ns.reconfiguration_policy,
        executor_reregistration_timeout=float(ns.executor_reregistration_timeout),
        executor_reregistration_retry_interval=float(
            ns.executor_reregistration_retry_interval),
        recovery_timeout=float(ns.recovery_timeout),
        isolation=ns.isolation, cgroups_root=ns.cgroups_root,
        log_level=ns.log_level,
        log_format=ns.log_format,
        switch_user=bool(ns.switch_user),
        security=security_flags.from_flags(ns),
        curve=bool(ns.curve), curve_keys=ns.curve_keys, curve_name=ns.curve_name,
        credential=ns.credential,
        authenticate_http_executors=bool(ns.authenticate_http_executors),
        jwt_secret_key=executor_auth.load_secret_key(key_file) if key_file else b"",
        jwt_secret_key_file=key_file,
    )


def _credential(value: str) -> Credential:
    return load_credential(value, "credential")
