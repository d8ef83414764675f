"""Who is who: ``FrameworkInfo``, ``AgentInfo``, ``MasterInfo`` and their small parts.

These records describe the three kinds of participants and travel inside the
registration conversations (``framework``, ``agent``, ``executor`` modules); the master
keeps them in its books, the registry stores ``AgentInfo`` and ``MasterInfo``, and the
detector publishes ``MasterInfo`` in ZooKeeper. Fields follow Mesos'
``include/mesos/mesos.proto`` (slave -> agent). An unset optional string is ``""``,
an unset optional record is ``None``.

``Resources`` (``actors.resources``) is registered here as a codec value type, so any
message field may be typed ``Resources`` directly.
"""

from __future__ import annotations

import enum
import ipaddress
import re

from actors.resources import EMPTY, Resources
from transport.codec import record, register_value_type
from transport.pid import PID

__all__ = [
    "URL",
    "Address",
    "AgentCapability",
    "AgentInfo",
    "Attribute",
    "DomainInfo",
    "FrameworkCapability",
    "FrameworkInfo",
    "Label",
    "Labels",
    "MasterAgentConnection",
    "MasterCapability",
    "MasterInfo",
    "OfferFilters",
    "Range",
    "ValueType",
    "attribute_text",
    "ip_from_uint32",
    "ip_to_uint32",
    "parse_attributes",
]

register_value_type(Resources, Resources.to_data, Resources.from_data)

DEFAULT_MASTER_HTTP_PORT = 5150
"""The master's HTTP port (``--http_port``, default ``--port`` + 100, DESIGN.md)."""


# -- small parts ------------------------------------------------------------------------


@record
class Label:
    """One free-form key/value pair; Meseta never interprets it."""

    key: str
    value: str = ""


@record
class Labels:
    """Free-form labels on frameworks, tasks, executors and statuses (Mesos' ``Labels``)."""

    labels: tuple[Label, ...] = ()

    @classmethod
    def of(cls, **pairs: str) -> Labels:
        """``Labels.of(team="web", tier="front")``."""
        return cls(labels=tuple(Label(key=k, value=v) for k, v in pairs.items()))

    def get(self, key: str, default: str | None = None) -> str | None:
        """The value of the first label named ``key``."""
        return next((lb.value for lb in self.labels if lb.key == key), default)


class ValueType(enum.Enum):
    """The kind of value an ``Attribute`` holds (Mesos' ``Value.Type``)."""

    SCALAR = 0
    RANGES = 1
    SET = 2
    TEXT = 3


@record
class Range:
    """An inclusive range ``[begin, end]`` of unsigned integers."""

    begin: int
    end: int


@record
class Attribute:
    """A non-consumable property of an agent (``--attributes=rack:2;os:linux``).

    Exactly the field named by ``type`` is meaningful: ``scalar``, ``ranges``,
    ``set`` or ``text``.
    """

    name: str
    type: ValueType
    scalar: float = 0.0
    ranges: tuple[Range, ...] = ()
    set: frozenset[str] = frozenset()
    text: str = ""


def attribute_text(attribute: Attribute) -> str:
    """Mesos' text form of an attribute value (``2``, ``[1-3]``, ``{a,b}``, ``east``)."""
    if attribute.type is ValueType.SCALAR:
        return f"{attribute.scalar:g}"
    if attribute.type is ValueType.RANGES:
        return "[" + ",".join(f"{r.begin}-{r.end}" for r in attribute.ranges) + "]"
    if attribute.type is ValueType.SET:
        return "{" + ",".join(sorted(attribute.set)) + "}"
    return attribute.text


_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")


def parse_attributes(text: str) -> tuple[Attribute, ...]:
    """Parse the agent flag ``--attributes``: ``rack:2;ports:[1-3];os:{linux};dc:east``.

    As Mesos does: a number is a SCALAR, ``[a-b,c-d]`` RANGES, ``{x,y}`` a SET, anything
    else TEXT. ``ValueError`` names the bad part.
    """
    out: list[Attribute] = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, colon, raw = (x.strip() for x in part.partition(":"))
        if not colon or not name or not raw:
            raise ValueError(f"bad attribute {part!r}: expected name:value")
        out.append(_attribute(name, raw))
    return tuple(out)


def _attribute(name: str, raw: str) -> Attribute:
    if raw.startswith("[") and raw.endswith("]"):
        ranges = []
        for item in filter(None, (r.strip() for r in raw[1:-1].split(","))):
            begin, dash, end = item.partition("-")
            if not dash or not begin.strip().isdigit() or not end.strip().isdigit():
                raise ValueError(f"bad range {item!r} in attribute {name!r}")
            ranges.append(Range(begin=int(begin), end=int(end)))
        return Attribute(name=name, type=ValueType.RANGES, ranges=tuple(ranges))
    if raw.startswith("{") and raw.endswith("}"):
        items = frozenset(filter(None, (i.strip() for i in raw[1:-1].split(","))))
        return Attribute(name=name, type=ValueType.SET, set=items)
    if _NUMBER.fullmatch(raw):
        return Attribute(name=name, type=ValueType.SCALAR, scalar=float(raw))
    return Attribute(name=name, type=ValueType.TEXT, text=raw)


@record
class DomainInfo:
    """A fault domain: ``region`` (e.g. a data center) and ``zone`` (e.g. a rack).

    Mesos nests these as ``fault_domain{region{name}, zone{name}}``; flattened here.
    """

    region: str
    zone: str


@record
class Address:
    """A network address; ``hostname``, ``ip`` or both."""

    port: int
    hostname: str = ""
    ip: str = ""


@record
class URL:
    """An HTTP(S) URL split as Mesos does (query and fragment left out)."""

    scheme: str
    address: Address
    path: str = ""


def ip_to_uint32(ip: str) -> int:
    """``"10.0.0.5"`` -> its 32-bit value (most significant byte first)."""
    return int(ipaddress.IPv4Address(ip))


def ip_from_uint32(value: int) -> str:
    """The reverse of ``ip_to_uint32``."""
    return str(ipaddress.IPv4Address(value))


# -- frameworks -------------------------------------------------------------------------


class FrameworkCapability(enum.Enum):
    """What a framework can handle (Mesos' ``FrameworkInfo.Capability.Type``)."""

    REVOCABLE_RESOURCES = 1
    TASK_KILLING_STATE = 2
    """Send it TASK_KILLING before TASK_KILLED."""
    GPU_RESOURCES = 3
    """Offer it agents that have GPUs."""
    SHARED_RESOURCES = 4
    PARTITION_AWARE = 5
    """Send it UNREACHABLE/DROPPED/GONE/UNKNOWN instead of LOST."""
    MULTI_ROLE = 6
    """It may subscribe with several roles."""
    RESERVATION_REFINEMENT = 7
    REGION_AWARE = 8


@record
class OfferFilters:
    """A framework's minimum offer size for one role (Mesos' ``OfferFilters``).

    ``min_allocatable_resources`` uses the allocator's spec: alternatives separated
    by ``|``, each a resource text (``"cpus:1;mem:256|gpus:1"``). Mesos keys these by
    role in a map; a tuple of per-role entries keeps ``FrameworkInfo`` hashable.
    """

    role: str
    min_allocatable_resources: str = ""


@record
class FrameworkInfo:
    """A framework's description, sent when it (re-)registers (Mesos' ``FrameworkInfo``)."""

    user: str
    """The OS user tasks run as unless a ``CommandInfo`` says otherwise."""
    name: str
    id: str = ""
    """The framework id; empty on the first registration (the master assigns it)."""
    failover_timeout: float = 0.0
    """Seconds the master keeps the framework's tasks after its scheduler disconnects."""
    checkpoint: bool = False
    """Agents checkpoint its state so its executors survive an agent restart."""
    roles: tuple[str, ...] = ("*",)
    """Roles it subscribes with (more than one needs MULTI_ROLE)."""
    hostname: str = ""
    principal: str = ""
    webui_url: str = ""
    capabilities: frozenset[FrameworkCapability] = frozenset()
    labels: Labels = Labels()
    offer_filters: tuple[OfferFilters, ...] = ()

    def has(self, capability: FrameworkCapability) -> bool:
        return capability in self.capabilities


# -- agents -----------------------------------------------------------------------------


class AgentCapability(enum.Enum):
    """What an agent can do (Mesos' ``SlaveInfo.Capability.Type``)."""

    MULTI_ROLE = 1
    HIERARCHICAL_ROLE = 2
    RESERVATION_REFINEMENT = 3
    RESOURCE_PROVIDER = 4
    RESIZE_VOLUME = 5
    AGENT_OPERATION_FEEDBACK = 6
    AGENT_DRAINING = 7
    TASK_RESOURCE_LIMITS = 8


@record
class AgentInfo:
    """An agent's description (Mesos' ``SlaveInfo``); ``id`` is set once registered."""

    hostname: str
    port: int = 5051
    """The agent's ZeroMQ port (the port of its PID)."""
    resources: Resources = EMPTY
    """Everything the agent offers (its ``--resources``, auto-detected where unset)."""
    attributes: tuple[Attribute, ...] = ()
    id: str = ""
    checkpoint: bool = False
    domain: DomainInfo | None = None
    http_port: int | None = None
    """The agent's HTTP port, when it serves HTTP (the master puts it in ``Offer.url``)."""


@record
class MasterAgentConnection:
    """How the master watches an agent (Mesos' ``MasterSlaveConnection``)."""

    total_ping_timeout_seconds: float = 75.0
    """If no ping arrives for this long the agent re-detects the master and
    re-registers (``agent_ping_timeout`` 15 s x ``max_agent_ping_timeouts`` 5)."""


# -- masters ----------------------------------------------------------------------------


class MasterCapability(enum.Enum):
    """What a master supports (Mesos' ``MasterInfo.Capability.Type``)."""

    AGENT_UPDATE = 1
    AGENT_DRAINING = 2
    QUOTA_V2 = 3


@record
class MasterInfo:
    """The leading master, as told to frameworks and agents and published in ZooKeeper.

    ``pid`` is the master's ZeroMQ PID (where messages go); ``port`` and ``address``
    are its HTTP endpoint (where HTTP clients and the web UI go), as in DESIGN.md.
    """

    id: str
    ip: int = 0
    """The IPv4 address as a uint32, most significant byte first (``ip_to_uint32``).

    Mesos' ``json.info_`` znodes hold the network-order bytes read as a little-endian
    uint32 instead; ``actors.ha.master_info`` converts at that boundary."""
    port: int = DEFAULT_MASTER_HTTP_PORT
    """The HTTP port."""
    pid: PID | None = None
    hostname: str = ""
    version: str = ""
    address: Address | None = None
    """The HTTP address (hostname, ip, port)."""
    domain: DomainInfo | None = None
    capabilities: frozenset[MasterCapability] = frozenset()
