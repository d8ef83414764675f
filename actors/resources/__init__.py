"""Resources: the immutable value type for what agents offer and tasks consume.

Everything that counts CPUs, memory, disk or ports talks through this module: the
allocator (its sorters and quota arithmetic), the master (offers, task validation),
agents (their ``--resources`` flag) and frameworks. It has no dependency beyond the
standard library.

A ``Resources`` value is a bag of entries keyed by ``(name, reservations)``:

- scalars (``cpus:2.5``) with three decimal digits of fixed-point precision, as in
  Mesos; they are stored as integer milli-units so sums never drift;
- ranges (``ports:[31000-32000]``, ``[1-3,5-9]``), always coalesced;
- sets (``{a,b}``).

A reservation stack (a tuple of ``Reservation``) says who owns an entry; the last
element is the reservation role. An empty stack means the unreserved role ``"*"``.
``cpus(eng):2`` is a static reservation for ``eng``; dynamic or refined stacks print
as ``cpus(reservations: [(STATIC,eng),(DYNAMIC,eng/web,alice)]):2``, which parses back.

Three external forms are supported: the agent flag text (``parse``/``str``), the
Mesos JSON form (``from_json``/``to_json``) and compact plain data for msgpack
(``from_data``/``to_data``). Bad input raises ``ValueError`` saying what and where.

Modules: ``values`` (reservations, roles, per-entry arithmetic), ``formats`` (text,
JSON and data parsing/printing), ``core`` (the ``Resources`` class).
"""

from actors.resources.core import EMPTY, Resources
from actors.resources.values import (
    DEFAULT_ROLE,
    Reservation,
    Resource,
    format_milli,
    is_strict_subrole_of,
    role_ancestors,
    to_milli,
    validate_role,
)

__all__ = [
    "DEFAULT_ROLE",
    "EMPTY",
    "Reservation",
    "Resource",
    "Resources",
    "format_milli",
    "is_strict_subrole_of",
    "role_ancestors",
    "to_milli",
    "validate_role",
]
