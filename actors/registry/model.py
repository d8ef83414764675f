"""The ``Registry`` value: what must survive a master (Mesos' ``src/master/registry.proto``).

The master keeps soft state only; the registry is the one thing it stores: the agents it
admitted (their ``AgentInfo`` by agent id), the agents it marked unreachable or gone (id ->
when, in seconds since the epoch), role weights, role quotas and the minimum capabilities
a master needs to read this registry, and the maintenance schedule with its machines'
modes. No frameworks, tasks or offers: those are rebuilt
from re-registration after a failover.

These are storage records, not wire messages: they are declared with ``@record`` here
rather than in ``actors.messages`` because no actor ever sends them; ``encode_registry``
and ``decode_registry`` turn them into the bytes a ``Storage`` keeps: zlib-compressed
msgpack of ``transport.codec.encode_message`` (compressed because ZooKeeper refuses a
znode over 1 MiB: ~220 bytes an agent raw, ~35 compressed). Like the wire protocol, the
format is append-only: a new field gets a default and older masters ignore it.

A ``Registry`` is treated as immutable: the maps are plain dicts for the codec's sake,
and ``actors.registry.operations`` builds new ones rather than changing them in place.
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Iterable

import msgpack

import actors.messages  # noqa: F401  (registers Resources as a codec value type)
from actors.messages.maintenance import MachineInfo, Schedule
from actors.messages.types import AgentInfo
from actors.registry.storage import CorruptRegistry
from transport.codec import decode_message, encode_message, record
from transport.errors import CodecError

__all__ = [
    "COMPRESSION_LEVEL",
    "Quota",
    "Registry",
    "decode_registry",
    "encode_registry",
    "missing_capabilities",
]

COMPRESSION_LEVEL = 6
"""zlib's default: ~50 ms for 10,000 agents, a sixth of the raw size."""


@record
class Quota:
    """A role's quota (Mesos' ``QuotaConfig``): resource name -> scalar amount."""

    guarantees: dict[str, float] = dataclasses.field(default_factory=dict)
    """What the role is guaranteed to get (e.g. ``{"cpus": 4.0}``)."""
    limits: dict[str, float] = dataclasses.field(default_factory=dict)
    """The most the role may hold; a missing name is unlimited."""


@record
class Registry:
    """Everything the leading master persists; a fresh store recovers ``Registry()``."""

    agents: dict[str, AgentInfo] = dataclasses.field(default_factory=dict)
    """Admitted agents by agent id (``Registry.slaves``)."""
    unreachable: dict[str, float] = dataclasses.field(default_factory=dict)
    """Agent id -> when it was marked unreachable (``Registry.unreachable``)."""
    gone: dict[str, float] = dataclasses.field(default_factory=dict)
    """Agent id -> when an operator marked it gone (``Registry.gone``)."""
    weights: dict[str, float] = dataclasses.field(default_factory=dict)
    """Role -> weight; a role not listed has weight 1.0."""
    quotas: dict[str, Quota] = dataclasses.field(default_factory=dict)
    """Role -> quota."""
    schedule: Schedule = Schedule()
    """The maintenance schedule (Mesos keeps a list of one: ``Registry.schedules``)."""
    machines: tuple[MachineInfo, ...] = ()
    """Every scheduled machine's mode and unavailability (``Registry.machines``)."""
    minimum_capabilities: tuple[str, ...] = ()
    """``MasterCapability`` names a master must have to use this registry. Kept as strings,
    not enum members, so that a master too old to know one sees it (and refuses)."""

    def __post_init__(self) -> None:
        for agent_id, info in self.agents.items():
            if info.id != agent_id:
                raise ValueError(f"admitted agent {agent_id!r} carries id {info.id!r}")

    def knows(self, agent_id: str) -> bool:
        """Whether the agent is admitted, unreachable or gone."""
        return agent_id in self.agents or agent_id in self.unreachable or agent_id in self.gone


def encode_registry(registry: Registry) -> bytes:
    """The bytes a ``Storage`` keeps for this registry."""
    packed: bytes = msgpack.packb(encode_message(registry), use_bin_type=True)
    return zlib.compress(packed, COMPRESSION_LEVEL)


def decode_registry(data: bytes) -> Registry:
    """The reverse of ``encode_registry``; ``CorruptRegistry`` on anything else."""
    try:
        packed = zlib.decompress(data)
    except zlib.error as exc:
        raise CorruptRegistry(f"the stored registry is not zlib data: {exc}") from exc
    try:
        raw = msgpack.unpackb(packed, raw=False, strict_map_key=True)
    except (ValueError, msgpack.UnpackException) as exc:
        raise CorruptRegistry(f"the stored registry is not msgpack: {exc}") from exc
    try:
        registry: Registry = decode_message(Registry, raw)
    except CodecError as exc:
        raise CorruptRegistry(f"the stored registry does not decode: {exc}") from exc
    return registry


def missing_capabilities(registry: Registry, ours: Iterable[str]) -> frozenset[str]:
    """The registry's minimum capabilities this master lacks (it must not lead if any)."""
    return frozenset(registry.minimum_capabilities) - frozenset(ours)
