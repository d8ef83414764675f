"""The agent's configuration: ``AgentConfig`` and the ``meseta-agent`` flags.

``actors.agent.main`` parses the flags (``flags().parse(argv)``), turns them into an
``AgentConfig`` with ``from_flags`` and hands it to ``AgentActor(node, config)``; tests
build an ``AgentConfig`` directly (its ``__post_init__`` checks it). The flag table and
its value parsers live in ``command_line``, the defaults and bounds in ``defaults``;
both are re-exported here, where the rest of Meseta imports them from. Flag names and
defaults are Mesos' agent flags (``src/slave/flags.cpp``).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from actors.agent import executor_auth
from actors.agent.command_line import flags, master_flag, master_pid
from actors.agent.containerizer.limits import DEFAULT_ISOLATION, parse_isolation
from actors.agent.defaults import (
    DEFAULT_EXECUTOR_REGISTRATION_TIMEOUT,
    DEFAULT_EXECUTOR_REREGISTRATION_RETRY_INTERVAL,
    DEFAULT_EXECUTOR_REREGISTRATION_TIMEOUT,
    DEFAULT_EXECUTOR_SHUTDOWN_GRACE_PERIOD,
    DEFAULT_MASTER,
    DEFAULT_RECOVERY_TIMEOUT,
    DEFAULT_REGISTRATION_BACKOFF_FACTOR,
    MAX_EXECUTOR_REREGISTRATION_TIMEOUT,
    REGISTRATION_RETRY_INTERVAL_MAX,
    STATUS_UPDATE_RETRY_INTERVAL_MAX,
    STATUS_UPDATE_RETRY_INTERVAL_MIN,
)
from actors.agent.gc import (
    DEFAULT_DISK_WATCH_INTERVAL,
    DEFAULT_GC_DELAY,
    DEFAULT_GC_DISK_HEADROOM,
)
from actors.authorization import config as security_flags
from actors.authorization.config import SecurityConfig
from actors.messages.authentication import Credential
from actors.messages.info import Attribute, parse_attributes
from actors.resources import Resources
from transport.flags import FlagError
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
