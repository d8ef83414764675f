"""``Inbox``: a process's mailbox, a deque whose reader sleeps in a GIL-free syscall.

Pykka reads an actor's inbox with ``get()`` and writes it with ``put()`` from any
thread. ``queue.SimpleQueue`` wakes a blocked reader through a futex while the writer
still holds the GIL, so on a busy core the woken actor often runs only to find the GIL
taken, blocks on it, and waits for a second wake-up. Here the reader sleeps in
``read(eventfd)`` and the writer wakes it with ``write(eventfd)``, both with the GIL
released: the actor can run the moment it wakes. A wake-up is written only while the
reader sleeps (``_sleeping``), so a busy actor's ``put`` costs an append.

Correctness rests on the GIL making each step below atomic: the reader sets
``_sleeping`` *before* its last look at the deque, the writer appends *before* it looks
at ``_sleeping``; so either the reader sees the item or the writer sees the sleeper. A
stray wake-up (the reader woke and found the deque already empty) only loops once more.

Who talks to it: Pykka (``ActorRef.tell``/``ask`` put, the actor loop gets), the node's
I/O thread (one ``put`` per batch) and ``Node.describe`` (``qsize``).
"""

from __future__ import annotations

import os
import weakref
from collections import deque
from typing import Any

__all__ = ["Inbox"]


class Inbox:
    """A multi-producer, single-consumer mailbox (Pykka's ``ActorInbox``)."""

    __slots__ = ("__weakref__", "_fd", "_items", "_sleeping")

    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._sleeping = False
        self._fd = os.eventfd(0, os.EFD_CLOEXEC)
        # Closed only once nothing can reach the inbox any more: a put racing an actor's
        # stop must never write to a descriptor number reused by something else.
        weakref.finalize(self, os.close, self._fd)

    def put(self, item: Any) -> None:
        self._items.append(item)
        if self._sleeping:
            os.eventfd_write(self._fd, 1)

    def get(self) -> Any:
        items = self._items
        while True:
            if items:
                return items.popleft()
            self._sleeping = True
            if items:
                self._sleeping = False
                continue
            os.eventfd_read(self._fd)
            self._sleeping = False

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)
