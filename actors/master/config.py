"""The master's configuration: ``MasterConfig`` and the ``meseta-master`` flags.

``actors.master.main`` parses the flags (``flags().parse(argv)``), turns them into a
``MasterConfig`` with ``from_flags`` and hands it to ``MasterActor(node, config)``;
tests build a ``MasterConfig`` directly. Flag names and defaults are Mesos' master
flags (``src/master/flags.cpp``); every flag has its ``MESETA_<NAME>`` fallback.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from actors.authorization import config as security_flags
from actors.authorization.config import SecurityConfig
from actors.master.rate_limits import RateLimits
from actors.messages.authentication import load_credentials
from actors.registry.operations import DEFAULT_MAX_AGENT_AGE_S, DEFAULT_MAX_AGENT_COUNT
from transport.affinity import check_cpu_affinity
from transport.curve import add_curve_flags
from transport.flags import (
    Duration,
    Flags,
    at_least,
    not_negative,
    one_of,
    port_number,
    positive,
    read_flag_value,
)

__all__ = [
    "DEFAULT_AGENT_PING_TIMEOUT",
    "DEFAULT_AGENT_REREGISTER_TIMEOUT",
    "DEFAULT_HEARTBEAT_INTERVAL",
    "DEFAULT_MAX_AGENT_PING_TIMEOUTS",
    "DEFAULT_REGISTRY_GC_INTERVAL",
    "DEFAULT_ZK_SESSION_TIMEOUT",
    "REGISTRIES",
    "MasterConfig",
    "flags",
    "from_flags",
]

DEFAULT_AGENT_PING_TIMEOUT = 15.0
"""Seconds between pings; a ping unanswered by then is a missed one (Mesos)."""

DEFAULT_MAX_AGENT_PING_TIMEOUTS = 5
"""Missed pings in a row after which the agent is removed (Mesos)."""

DEFAULT_AGENT_REREGISTER_TIMEOUT = 600.0
"""Seconds a newly elected master waits for the agents of the registry to re-register
before it marks them unreachable (Mesos' ``--agent_reregister_timeout``, 10mins)."""

REGISTRIES = ("in_memory", "sqlite", "zk")
"""The values of ``--registry`` (``actors.registry.open_storage``)."""

DEFAULT_REGISTRY_GC_INTERVAL = 900.0
"""Seconds between the leading master's registry garbage collections (Mesos'
``--registry_gc_interval``, 15mins); ``--registry_max_agent_age`` (2weeks) and
``--registry_max_agent_count`` (100 * 1024) say what is collected."""

DEFAULT_HEARTBEAT_INTERVAL = 15.0
"""Seconds between v1 scheduler API HEARTBEAT events (Mesos' ``DEFAULT_HEARTBEAT_INTERVAL``)."""

DEFAULT_ZK_SESSION_TIMEOUT = 10.0
"""Seconds: the ZooKeeper session timeout of ``--zk`` (Mesos' ``--zk_session_timeout``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MasterConfig:
    """Knobs of the master (Mesos master flags of the same names)."""

    ip: str = "127.0.0.1"
    port: int = 5050
    http_port: int | None = None
    """``None``: ``port + 100`` (a free one when ``port`` is 0); 0 picks a free port."""
    hostname: str = ""
    """Advertised in MasterInfo; ``""``: the ip."""
    work_dir: str = ""
    offer_timeout: float | None = None
    """Rescind offers not answered within this many seconds; ``None``: never."""
    allocation_interval: float = 1.0
    agent_ping_timeout: float = DEFAULT_AGENT_PING_TIMEOUT
    max_agent_ping_timeouts: int = DEFAULT_MAX_AGENT_PING_TIMEOUTS
    agent_reregister_timeout: float = DEFAULT_AGENT_REREGISTER_TIMEOUT
    heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL
    """Seconds between HEARTBEAT events on v1 scheduler API streams (Mesos: fixed 15 s)."""
    max_completed_frameworks: int = 50
    max_completed_tasks_per_framework: int = 1000
    trace: bool = False
    cpu_affinity: str = "auto"
    """Where the node's Python threads run (``transport.affinity``): auto, none or a CPU."""
    log_level: str = "info"
    log_format: str = "console"
    zk: str = ""
    """``zk://host:port[,host:port]/path``: contend for leadership there; ``""``: standalone
    (elected at once)."""
    zk_session_timeout: float = DEFAULT_ZK_SESSION_TIMEOUT
    registry_gc_interval: float = DEFAULT_REGISTRY_GC_INTERVAL
    registry_max_agent_age: float = DEFAULT_MAX_AGENT_AGE_S
    """Seconds an unreachable or gone agent stays in the registry (and the master's books)."""
    registry_max_agent_count: int = DEFAULT_MAX_AGENT_COUNT
    """At most this many unreachable agents (and as many gone ones) are kept."""
    registry: str = ""
    """``in_memory``, ``sqlite`` (``<work_dir>/registry.db``) or ``zk`` (under ``--zk``);
    ``""``: ``sqlite`` with a ``work_dir``, else ``in_memory``."""
    security: SecurityConfig = field(default_factory=SecurityConfig)
    """ACLs, HTTP authentication and TLS (``actors.authorization.config``)."""
    curve: bool = False
    """CurveZMQ on every connection (``transport.curve``; keys from ``curve_keys``)."""
    curve_keys: str = ""
    curve_name: str = ""
    authenticate_frameworks: bool = False
    """Only authenticated frameworks may register (Mesos' ``--authenticate_frameworks``)."""
    authenticate_agents: bool = False
    authenticate_http_frameworks: bool = False
    """``/api/v1/scheduler`` needs HTTP Basic credentials from ``credentials`` (realm
    ``mesos-master-scheduler``; ``actors.master.scheduler_api.auth``)."""
    http_framework_authenticators: str = ""
    """The authenticator of that realm: only ``basic`` (Mesos: no default, required)."""
    credentials: dict[str, str] = field(default_factory=dict)
    """Principal -> secret, for the CRAM exchange (``--credentials`` file)."""
    rate_limits: str = ""
    """Mesos' ``--rate_limits`` JSON (``actors.master.rate_limits``); ``""``: no limits."""

    def __post_init__(self) -> None:
        if self.agent_ping_timeout <= 0:
            raise ValueError("agent_ping_timeout must be positive")
        if self.max_agent_ping_timeouts < 1:
            raise ValueError("max_agent_ping_timeouts must be at least 1")
        if self.agent_reregister_timeout <= 0:
            raise ValueError("agent_reregister_timeout must be positive")
        if self.offer_timeout is not None and self.offer_timeout <= 0:
            raise ValueError("offer_timeout must be positive")
        if self.heartbeat_interval <= 0:
            raise ValueError("heartbeat_interval must be positive")
        if self.allocation_interval <= 0:
            raise ValueError("allocation_interval must be positive")
        if self.zk_session_timeout <= 0:
            raise ValueError("zk_session_timeout must be positive")
        if self.registry_gc_interval <= 0:
            raise ValueError("registry_gc_interval must be positive")
        if self.registry_max_agent_age < 0 or self.registry_max_agent_count < 0:
            raise ValueError("registry_max_agent_age and registry_max_agent_count must not "
                             "be negative")
        if self.registry not in ("", *REGISTRIES):
            raise ValueError(f"registry must be one of {', '.join(REGISTRIES)}")
        if self.rate_limits:
            RateLimits.parse(self.rate_limits)
        if self.registry == "zk" and not self.zk:
            raise ValueError("registry=zk needs zk")
        if self.zk:
            problem = _zk_url(self.zk)
            if problem is not None:
                raise ValueError(problem)

    @property
    def effective_http_port(self) -> int:
        if self.http_port is not None:
            return self.http_port
        return self.port + 100 if self.port else 0

    @property
    def effective_registry(self) -> str:
        if self.registry:
            return self.registry
        return "sqlite" if self.work_dir else "in_memory"

    @property
    def total_ping_timeout(self) -> float:
        """How long an agent waits without pings before re-registering."""
        return self.agent_ping_timeout * self.max_agent_ping_timeouts


def _zk_url(value: str) -> str | None:
    if not value:
        return None
    from actors.ha.zk_url import parse_zk_url  # imports kazoo: only when --zk is given

    try:
        parse_zk_url(value)
    except ValueError as exc:
        return str(exc)
    return None


def _ping_timeout(value: float) -> str | None:
    # Mesos allows 1 s to 15 min; shorter values are useful in tests and on laptops.
    return None if 0 < value <= 900 else "must be more than 0 and at most 15mins"


def flags() -> Flags:
    """The ``meseta-master`` flags, Mesos' names and defaults."""
    f = Flags("meseta-master", "Run a Meseta master: it collects agents' resources and "
              "offers them to frameworks.")
    f.add("ip", str, "127.0.0.1", "IP address to listen on")
    f.add("port", int, 5050, "port of the master's ZeroMQ endpoint", check=port_number)
    f.add("http_port", int, None, "HTTP port (default: --port + 100; 0 picks a free one)",
          check=port_number)
    f.add("hostname", str, "", "hostname advertised to frameworks and agents (default: --ip)")
    f.add("work_dir", str, "", "directory for the master's files (the sqlite registry)")
    f.add("offer_timeout", Duration, None,
          "rescind offers not accepted or declined within this time (default: never)",
          check=positive)
    f.add("allocation_interval", Duration, Duration(1.0), "time between batch allocations",
          check=positive)
    f.add("agent_ping_timeout", Duration, Duration(DEFAULT_AGENT_PING_TIMEOUT),
          "time to wait for an agent's pong before counting a missed ping",
          check=_ping_timeout)
    f.add("max_agent_ping_timeouts", int, DEFAULT_MAX_AGENT_PING_TIMEOUTS,
          "missed pongs in a row after which the agent is removed", check=at_least(1))
    f.add("agent_reregister_timeout", Duration, Duration(DEFAULT_AGENT_REREGISTER_TIMEOUT),
          "after a failover, agents of the registry that do not re-register within this "
          "time are marked unreachable (Mesos requires at least 10mins; shorter is for "
          "tests)", check=positive)
    f.add("heartbeat_interval", Duration, Duration(DEFAULT_HEARTBEAT_INTERVAL),
          "time between HEARTBEAT events on /api/v1/scheduler event streams",
          check=positive)
    f.add("max_completed_frameworks", int, 50, "completed frameworks kept for /state",
          check=lambda v: None if v >= 0 else "must not be negative")
    f.add("max_completed_tasks_per_framework", int, 1000,
          "completed tasks kept per framework for /state",
          check=lambda v: None if v >= 0 else "must not be negative")
    f.add("zk", str, "", "zk://host:port[,host:port]/path: contend for leadership in "
          "ZooKeeper under path (default: standalone, the only master)", check=_zk_url)
    f.add("zk_session_timeout", Duration, Duration(DEFAULT_ZK_SESSION_TIMEOUT),
          "ZooKeeper session timeout; a leader cut off from ZooKeeper this long exits",
          check=positive)
    f.add("registry", str, "", "where the registry lives: in_memory, sqlite "
          "(<work_dir>/registry.db) or zk (under --zk) (default: sqlite with a --work_dir, "
          "else in_memory)", check=lambda v: None if v in ("", *REGISTRIES)
          else f"must be one of {', '.join(REGISTRIES)}")
    f.add("registry_gc_interval", Duration, Duration(DEFAULT_REGISTRY_GC_INTERVAL),
          "how often the leading master garbage-collects unreachable and gone agents from "
          "the registry (see --registry_max_agent_age and --registry_max_agent_count)",
          check=positive)
    f.add("registry_max_agent_age", Duration, Duration(DEFAULT_MAX_AGENT_AGE_S),
          "how long the registry remembers an unreachable or gone agent (frameworks "
          "reconciling its tasks hear TASK_UNREACHABLE / TASK_GONE_BY_OPERATOR until then, "
          "TASK_UNKNOWN after); sooner past --registry_max_agent_count",
          check=not_negative)
    f.add("registry_max_agent_count", int, DEFAULT_MAX_AGENT_COUNT,
          "at most this many unreachable agents (and as many gone ones) are kept in the "
          "registry; the oldest beyond go at the next garbage collection",
          check=not_negative)
    add_curve_flags(f)
    f.add("authenticate_frameworks", bool, False, "only authenticated frameworks may "
          "register (by --credentials, or by their CURVE key under --curve)")
    f.add("authenticate_agents", bool, False, "only authenticated agents may register")
    f.add("authenticate_http_frameworks", bool, False, "HTTP frameworks must authenticate: "
          "/api/v1/scheduler needs HTTP Basic credentials from --credentials (realm "
          "mesos-master-scheduler); needs --http_framework_authenticators=basic")
    f.add("http_framework_authenticators", str, "", "the HTTP authenticator of "
          "--authenticate_http_frameworks: basic (the only one; no default, as in Mesos)")
    f.add("credentials", _credentials, None, "file of the principals and secrets frameworks "
          "and agents authenticate with: Mesos' JSON {\"credentials\": [{\"principal\": "
          "..., \"secret\": ...}]} or one 'principal secret' per line (/path, file://path "
          "or inline)")
    f.add("rate_limits", _rate_limits, "", "per-principal limits of framework messages, "
          "Mesos' JSON {\"limits\": [{\"principal\": ..., \"qps\": ..., \"capacity\": ...}], "
          "\"aggregate_default_qps\": ...} inline, /path or file://path")
    f.add("trace", bool, False, "log every message sent and received (trace.send/trace.recv)")
    f.add("cpu_affinity", str, "auto", "where this node's Python threads run: auto (one "
          "core, the least busy, rechecked), none (anywhere) or a CPU number",
          check=check_cpu_affinity)
    f.add("log_level", str, "info", "debug, info, warning or error",
          check=one_of("debug", "info", "warning", "error"))
    f.add("log_format", str, "console", "console or json",
          check=one_of("console", "json"))
    security_flags.add_flags(f)
    return f


def from_flags(ns: argparse.Namespace) -> MasterConfig:
    """A ``MasterConfig`` from parsed ``flags()``."""
    return MasterConfig(
        ip=ns.ip,
        port=ns.port,
        http_port=ns.http_port,
        hostname=ns.hostname,
        work_dir=ns.work_dir,
        offer_timeout=None if ns.offer_timeout is None else float(ns.offer_timeout),
        allocation_interval=float(ns.allocation_interval),
        agent_ping_timeout=float(ns.agent_ping_timeout),
        max_agent_ping_timeouts=ns.max_agent_ping_timeouts,
        agent_reregister_timeout=float(ns.agent_reregister_timeout),
        heartbeat_interval=float(ns.heartbeat_interval),
        max_completed_frameworks=ns.max_completed_frameworks,
        max_completed_tasks_per_framework=ns.max_completed_tasks_per_framework,
        trace=bool(ns.trace),
        cpu_affinity=ns.cpu_affinity,
        log_level=ns.log_level,
        log_format=ns.log_format,
        zk=ns.zk,
        zk_session_timeout=float(ns.zk_session_timeout),
        registry=ns.registry,
        registry_gc_interval=float(ns.registry_gc_interval),
        registry_max_agent_age=float(ns.registry_max_agent_age),
        registry_max_agent_count=ns.registry_max_agent_count,
        security=security_flags.from_flags(ns),
        curve=bool(ns.curve), curve_keys=ns.curve_keys, curve_name=ns.curve_name,
        authenticate_frameworks=bool(ns.authenticate_frameworks),
        authenticate_agents=bool(ns.authenticate_agents),
        authenticate_http_frameworks=bool(ns.authenticate_http_frameworks),
        http_framework_authenticators=ns.http_framework_authenticators,
        credentials=ns.credentials or {},
        rate_limits=ns.rate_limits,
    )


def _credentials(value: str) -> dict[str, str]:
    return load_credentials(value, "credentials")


def _rate_limits(value: str) -> str:
    """The JSON of ``--rate_limits``: inline, ``file://path`` or ``/path``."""
    text = value.strip()
    if text:
        text = read_flag_value(text, "rate_limits", "JSON")
    if text:
        RateLimits.parse(text)
    return text
