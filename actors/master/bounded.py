"""``BoundedSet``: a set that forgets its oldest members past a size, for ids a peer can mint.

The master remembers ids of what is gone (agents that unregistered, frameworks removed)
to refuse their return; a peer registering and leaving over and over would make those
sets grow without end. Mesos bounds them the same way (``MAX_REMOVED_SLAVES`` for
removed agents; removed frameworks live in the bounded ``frameworks.completed``).
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["BoundedSet"]


class BoundedSet:
    """Insertion-ordered; adding past ``limit`` members drops the oldest."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self._items: dict[str, None] = {}

    def add(self, item: str) -> None:
        self._items.pop(item, None)
        self._items[item] = None
        while len(self._items) > self.limit:
            del self._items[next(iter(self._items))]

    def discard(self, item: str) -> None:
        self._items.pop(item, None)

    def __contains__(self, item: object) -> bool:
        return item in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)
