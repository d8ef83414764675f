"""The weighted, hierarchical DRF sorter: who is furthest below their fair share.

The hierarchical allocator keeps one sorter over roles and one per role over that
role's frameworks, and asks each for an order at every step of an allocation cycle.
Nothing else talks to it. It is pure: no clock, no I/O.

Clients are paths (``eng/frontend``); they form a tree as in Mesos' DRF sorter. A
client that is also the parent of another client (``a`` and ``a/b``) lives in a
virtual ``.`` leaf under the internal node ``a``. For every node::

    share = max over scalar resources r with total_r > 0 (r not excluded)
            of allocated_r / total_r, divided by the node's weight

Siblings are ordered by ascending share, then by fewer allocations (the count of
``allocated()`` calls), then by path; ``sort()`` walks the tree pre-order and lists
only active leaves. Orders are kept incrementally: an allocation bubbles the changed
nodes into place with a bisection, the flattened order is cached until something
changes, and only changes to the totals, weights or tree shape re-sort everything
(lazily, at the next ``sort()``).
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable, Iterator, Mapping
from operator import itemgetter

from actors.allocator.protocols import Sorter
from actors.resources import Resources

__all__ = ["DEFAULT_WEIGHT", "DRFSorter", "Sorter"]

DEFAULT_WEIGHT = 1.0

_Entry = tuple[float, int, str, "_Node"]
_PATH = itemgetter(2)


class _Node:
    """A node of the client tree; leaves are clients, internal nodes group them."""

    __slots__ = (
        "active",
        "count",
        "entry",
        "inactive",
        "name",
        "ordered",
        "parent",
        "path",
        "qty",
        "resources",
        "share",
        "weight",
    )

    def __init__(self, name: str, parent: _Node | None, weight: float) -> None:
        self.name = name
        self.parent = parent
        if parent is None:
            self.path = ""
        elif parent.parent is None:
            self.path = name
        else:
            self.path = f"{parent.path}/{name}"
        self.weight = weight
        self.share = 0.0
        self.count = 0
        self.qty: dict[str, int] = {}
        self.entry: _Entry | None = None  # our tuple in parent.ordered, when active
        self.active = False  # leaves only; internal nodes are always "ordered"
        # Internal nodes: sorted active children and the inactive leaves.
        self.ordered: list[_Entry] | None = None
        self.inactive: dict[str, _Node] = {}
        # Leaves: per-agent allocation.
        self.resources: dict[str, Resources] = {}

    @property
    def is_leaf(self) -> bool:
        return self.ordered is None

    @property
    def client(self) -> str:
        return self.parent.path if self.name == "." and self.parent else self.path

    def children(self) -> list[_Node]:
        assert self.ordered is not None
        return [e[3] for e in self.ordered] + list(self.inactive.values())


class DRFSorter:
    """Weighted hierarchical DRF over client paths (see the module docstring)."""

    def __init__(self, fair_sharing_excluded_resource_names: Iterable[str] = ()) -> None:
        self._excluded = frozenset(fair_sharing_excluded_resource_names)
        self._root = _Node("", None, DEFAULT_WEIGHT)
        self._root.ordered = []
        self._clients: dict[str, _Node] = {}
        self._weights: dict[str, float] = {}
        self._agents: dict[str, Mapping[str, int]] = {}
        self._total: dict[str, int] = {}
        self._terms: list[tuple[str, int]] = []
        self._dirty = False
        self._order: list[str] | None = []
        self._internal_nodes = 0

    # -- clients --------------------------------------------------------------------

    def add(self, client: str) -> None:
        """Add an inactive client (``activate`` makes it appear in ``sort()``)."""
        if client in self._clients:
            raise ValueError(f"sorter client {client!r} already exists")
        tokens = client.split("/")
        current = self._root
        index = 0
        while index < len(tokens):
            assert current.ordered is not None
            child = self._child(current, tokens[index])
            if child is None:
                break
            if child.is_leaf:  # Turn the leaf into an internal node with a "." leaf.
                self._make_internal(child)
            current = child
            index += 1
        for position, token in enumerate(tokens[index:], start=index):
            node = _Node(token, current, self._weights.get(_join(current, token), 1.0))
            if position < len(tokens) - 1:
                node.ordered = []
                self._internal_nodes += 1
                self._place(node)
            else:
                current.inactive[token] = node
            current = node
        if index == len(tokens):  # The path exists as an internal node: add a "." leaf.
            node = _Node(".", current, DEFAULT_WEIGHT)
            current.inactive["."] = node
            current = node
        self._clients[client] = current
        self._invalidate(dirty=True)

    def remove(self, client: str) -> None:
        """Remove a client, giving back whatever it still has allocated."""
        node = self._find(client)
        del self._clients[client]
        self._detach(node)
        for ancestor in self._ancestors(node):
            _subtract(ancestor.qty, node.qty)
        parent = node.parent
        assert parent is not None
        while parent is not self._root and parent.parent is not None:
            assert parent.ordered is not None
            grand = parent.parent
            if not parent.ordered and not parent.inactive:
                self._detach(parent)
                self._internal_nodes -= 1
            elif len(parent.ordered) + len(parent.inactive) == 1:
                only = parent.children()[0]
                if only.name == ".":  # Collapse the virtual leaf back into its parent.
                    self._detach(parent)
                    self._detach(only)
                    parent.ordered = None
                    self._internal_nodes -= 1
                    parent.resources, parent.count = only.resources, only.count
                    parent.active = only.active
                    self._clients[parent.path] = parent
                    if parent.active:
                        self._place(parent)
                    else:
                        grand.inactive[parent.name] = parent
            parent = grand
        self._invalidate(dirty=True)

    def activate(self, client: str) -> None:
        node = self._find(client)
        if not node.active:
            assert node.parent is not None
            del node.parent.inactive[node.name]
            node.active = True
            if not self._dirty:
                node.share = self._share(node)
            self._place(node)
            self._invalidate()

    def deactivate(self, client: str) -> None:
        node = self._find(client)
        if node.active:
            self._detach(node)
            node.active = False
            assert node.parent is not None
            node.parent.inactive[node.name] = node
            self._invalidate()

    def update_weight(self, path: str, weight: float) -> None:
        """Set the weight of a client or of an internal node (a role subtree)."""
        if weight <= 0:
            raise ValueError(f"weight of {path!r} must be positive, got {weight}")
        self._weights[path] = weight
        node = self._clients.get(path)
        if node is not None and node.name == ".":
            node = node.parent
        if node is None:
            node = self._internal(path)
        if node is not None:
            node.weight = weight
        self._invalidate(dirty=True)

    def contains(self, client: str) -> bool:
        return client in self._clients

    __contains__ = contains

    def count(self) -> int:
        return len(self._clients)

    def __len__(self) -> int:
        return len(self._clients)

    # -- allocations ----------------------------------------------------------------

    def allocated(self, client: str, agent_id: str, resources: Resources) -> None:
        """Charge ``resources`` on ``agent_id`` to the client and its ancestors."""
        node = self._clients.get(client) or self._find(client)
        by_agent = node.resources
        held = by_agent.get(agent_id)
        by_agent[agent_id] = resources if held is None else held + resources
        qty = resources.quantities()
        dirty = self._dirty
        terms = self._terms
        root = self._root
        current = node
        while current is not root:
            own = current.qty
            for name, amount in qty.items():
                own[name] = own.get(name, 0) + amount
            count = current.count = current.count + 1
            entry = current.entry
            parent: _Node = current.parent  # type: ignore[assignment]
            if entry is not None and not dirty:
                # Bubble the node into its new place among its siblings (hot path).
                ordered: list[_Entry] = parent.ordered  # type: ignore[assignment]
                del ordered[bisect_left(ordered, entry)]
                share = 0.0
                for name, total in terms:
                    value = own.get(name)
                    if value:
                        fraction = value / total
                        if fraction > share:
                            share = fraction
                share /= current.weight
                current.share = share
                current.entry = entry = (share, count, current.path, current)
                insort(ordered, entry)
            current = parent
        self._order = None

    def unallocated(self, client: str, agent_id: str, resources: Resources) -> None:
        """Give back ``resources`` on ``agent_id``; raises if they were not allocated."""
        node = self._find(client)
        held = node.resources.get(agent_id)
        if held is None or not held.contains(resources):
            raise ValueError(f"{client!r} has not been allocated {resources} on {agent_id!r}")
        rest = held - resources
        if rest:
            node.resources[agent_id] = rest
        else:
            del node.resources[agent_id]
        qty = resources.quantities()
        for current in [node, *self._ancestors(node)]:
            _subtract(current.qty, qty)
        self._invalidate(dirty=True)

    def update(self, client: str, agent_id: str, old: Resources, new: Resources) -> None:
        """Replace part of an allocation without counting a new allocation."""
        node = self._find(client)
        count = [(n, n.count) for n in [node, *self._ancestors(node)]]
        self.unallocated(client, agent_id, old)
        if new:
            self.allocated(client, agent_id, new)
        for n, c in count:
            n.count = c
        self._invalidate(dirty=True)

    def allocation(self, client: str) -> Mapping[str, Resources]:
        return dict(self._find(client).resources)

    def allocation_on(self, client: str, agent_id: str) -> Resources:
        return self._find(client).resources.get(agent_id, Resources())

    def allocation_quantities(self, client: str | None = None) -> Mapping[str, int]:
        """Allocated scalar totals (milli-units) of a client, or of everyone."""
        node = self._root_total() if client is None else self._find(client)
        return dict(node.qty)

    def share(self, client: str) -> float:
        """The client's current weighted dominant share."""
        if self._dirty:
            self._resort()
        return self._share(self._find(client))

    # -- totals ---------------------------------------------------------------------

    def add_agent(self, agent_id: str, total: Resources) -> None:
        if agent_id in self._agents:
            raise ValueError(f"agent {agent_id!r} was already added to the sorter")
        qty = dict(total.quantities())
        self._agents[agent_id] = qty
        for name, value in qty.items():
            self._total[name] = self._total.get(name, 0) + value
        self._invalidate(dirty=True)

    def remove_agent(self, agent_id: str) -> None:
        qty = self._agents.pop(agent_id)
        _subtract(self._total, qty)
        self._invalidate(dirty=True)

    def total_quantities(self) -> Mapping[str, int]:
        return dict(self._total)

    # -- ordering -------------------------------------------------------------------

    def sort(self) -> list[str]:
        """Active clients, lowest weighted dominant share first."""
        order = self._order
        if order is None or self._dirty:
            order = self._order = list(self.iter_sorted())
        return list(order)

    def iter_sorted(self) -> Iterator[str]:
        """Like ``sort()`` but lazy: each level is snapshotted when the walk reaches it.

        The allocator breaks out early (an agent is usually used up by the first
        framework), so it pays only for the clients it looks at.
        """
        if self._dirty:
            self._resort()
        if self._order is not None:
            return iter(self._order)
        if not self._internal_nodes:  # flat: every active child of the root is a client
            return map(_PATH, self._root.ordered.copy())  # type: ignore[union-attr]
        return self._walk(self._root)

    def _walk(self, node: _Node) -> Iterator[str]:
        assert node.ordered is not None
        for entry in list(node.ordered):
            child = entry[3]
            if child.ordered is None:
                yield child.client
            else:
                yield from self._walk(child)

    def _resort(self) -> None:
        self._terms = [
            (name, total)
            for name, total in sorted(self._total.items())
            if total > 0 and name not in self._excluded
        ]
        stack = [self._root]
        while stack:
            node = stack.pop()
            assert node.ordered is not None
            entries = []
            for entry in node.ordered:
                child = entry[3]
                child.share = self._share(child)
                child.entry = (child.share, child.count, child.path, child)
                entries.append(child.entry)
                if child.ordered is not None:
                    stack.append(child)
            entries.sort()
            node.ordered = entries
        self._dirty = False

    # -- internals ------------------------------------------------------------------

    def _share(self, node: _Node) -> float:
        qty = node.qty
        share = 0.0
        for name, total in self._terms:
            value = qty.get(name)
            if value is not None and value / total > share:
                share = value / total
        return share / node.weight

    def _reposition(self, node: _Node) -> None:
        parent = node.parent
        assert parent is not None and parent.ordered is not None and node.entry is not None
        ordered = parent.ordered
        del ordered[bisect_left(ordered, node.entry)]
        node.share = self._share(node)
        node.entry = (node.share, node.count, node.path, node)
        insort(ordered, node.entry)

    def _place(self, node: _Node) -> None:
        parent = node.parent
        assert parent is not None and parent.ordered is not None
        node.entry = (node.share, node.count, node.path, node)
        insort(parent.ordered, node.entry)

    def _detach(self, node: _Node) -> None:
        parent = node.parent
        assert parent is not None and parent.ordered is not None
        if node.entry is not None:
            parent.ordered.remove(node.entry)
            node.entry = None
        else:
            parent.inactive.pop(node.name, None)

    def _make_internal(self, leaf: _Node) -> None:
        """Turn a client leaf into an internal node holding a virtual "." leaf."""
        virtual = _Node(".", leaf, DEFAULT_WEIGHT)
        virtual.resources, virtual.count, virtual.qty = leaf.resources, leaf.count, dict(leaf.qty)
        virtual.active = leaf.active
        leaf.resources = {}
        if leaf.entry is None:
            assert leaf.parent is not None
            del leaf.parent.inactive[leaf.name]
            self._place(leaf)
        leaf.ordered = []
        self._internal_nodes += 1
        if virtual.active:
            self._place(virtual)
        else:
            leaf.inactive["."] = virtual
        self._clients[leaf.path] = virtual

    def _child(self, node: _Node, name: str) -> _Node | None:
        assert node.ordered is not None
        for entry in node.ordered:
            if entry[3].name == name:
                return entry[3]
        return node.inactive.get(name)

    def _internal(self, path: str) -> _Node | None:
        node: _Node | None = self._root
        for token in path.split("/"):
            if node is None or node.ordered is None:
                return None
            node = self._child(node, token)
        return node

    def _find(self, client: str) -> _Node:
        node = self._clients.get(client)
        if node is None:
            raise KeyError(f"unknown sorter client {client!r}")
        return node

    def _ancestors(self, node: _Node) -> list[_Node]:
        out = []
        current = node.parent
        while current is not None and current.parent is not None:
            out.append(current)
            current = current.parent
        return out

    def _root_total(self) -> _Node:
        total = _Node("", None, DEFAULT_WEIGHT)
        assert self._root.ordered is not None
        for child in self._root.children():
            for name, value in child.qty.items():
                total.qty[name] = total.qty.get(name, 0) + value
        return total

    def _invalidate(self, dirty: bool = False) -> None:
        self._order = None
        if dirty:
            self._dirty = True


def _join(parent: _Node, name: str) -> str:
    return name if parent.parent is None else f"{parent.path}/{name}"


def _subtract(into: dict[str, int], qty: Mapping[str, int]) -> None:
    for name, value in qty.items():
        rest = into.get(name, 0) - value
        if rest:
            into[name] = rest
        else:
            into.pop(name, None)
