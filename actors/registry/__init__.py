"""The registry: what must survive a master, behind one storage interface.

- ``model``: the ``Registry`` value (admitted, unreachable and gone agents, weights,
  quota, minimum master capabilities) and its bytes;
- ``operations``: pure changes to it (``AdmitAgent``, ``MarkAgentUnreachable``...);
- ``maintenance``: the machine-mode state machine and ``UpdateSchedule`` /
  ``StartMaintenance`` / ``StopMaintenance``;
- ``storage``: the ``Storage`` seam (versioned key-value, compare-and-swap) and the
  registry's errors; backends ``memory``, ``sqlite``, ``zookeeper``;
- ``registrar``: ``Registrar`` (recover, apply) and ``open_storage`` for ``--registry``.

- ``worker``: ``RegistrarWorker``, the thread that does the master's registry work off
  its actor's thread (batched writes, outcomes posted back).

No actor lives here: the master owns a ``RegistrarWorker`` around its ``Registrar``.
"""

from __future__ import annotations

from actors.registry.maintenance import StartMaintenance, StopMaintenance, UpdateSchedule
from actors.registry.memory import MemoryStorage
from actors.registry.model import Quota, Registry, decode_registry, encode_registry
from actors.registry.operations import (
    AdmitAgent,
    MarkAgentGone,
    MarkAgentReachable,
    MarkAgentUnreachable,
    Operation,
    PruneAgents,
    PruneUnreachable,
    RemoveAgent,
    UpdateAgentInfo,
    UpdateQuota,
    UpdateWeights,
)
from actors.registry.registrar import Registrar, open_storage
from actors.registry.storage import (
    CorruptRegistry,
    NotRecovered,
    OperationRefused,
    RegistrarAborted,
    RegistryError,
    Storage,
    StorageConflict,
    StorageUnavailable,
)

__all__ = [
    "AdmitAgent",
    "CorruptRegistry",
    "MarkAgentGone",
    "MarkAgentReachable",
    "MarkAgentUnreachable",
    "MemoryStorage",
    "NotRecovered",
    "Operation",
    "OperationRefused",
    "PruneAgents",
    "PruneUnreachable",
    "Quota",
    "Registrar",
    "RegistrarAborted",
    "Registry",
    "RegistryError",
    "RemoveAgent",
    "StartMaintenance",
    "StopMaintenance",
    "Storage",
    "StorageConflict",
    "StorageUnavailable",
    "UpdateAgentInfo",
    "UpdateQuota",
    "UpdateSchedule",
    "UpdateWeights",
    "decode_registry",
    "encode_registry",
    "open_storage",
]
