"""The process mailbox: order, blocking reads woken by writes, many writers, no leaked fd."""

from __future__ import annotations

import gc
import os
import threading
import time

from tests.transport.helpers import WAIT
from transport.inbox import Inbox


def test_items_come_out_in_the_order_they_went_in() -> None:
    inbox = Inbox()
    for i in range(5):
        inbox.put(i)
    assert inbox.qsize() == 5 and not inbox.empty()
    assert [inbox.get() for _ in range(5)] == list(range(5))
    assert inbox.empty()


def test_a_blocked_reader_wakes_when_an_item_arrives() -> None:
    inbox = Inbox()
    got: list[object] = []
    reader = threading.Thread(target=lambda: got.append(inbox.get()))
    reader.start()
    deadline = time.monotonic() + WAIT
    while not inbox._sleeping and time.monotonic() < deadline:  # the reader is asleep
        time.sleep(0.001)
    inbox.put("hello")
    reader.join(WAIT)
    assert got == ["hello"]


def test_many_writers_lose_nothing_and_keep_each_writers_order() -> None:
    inbox = Inbox()
    writers, per_writer = 4, 20_000
    got: list[tuple[int, int]] = []

    def read() -> None:
        for _ in range(writers * per_writer):
            got.append(inbox.get())

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=lambda w=w: [inbox.put((w, i)) for i in range(per_writer)])
               for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
    reader.join(WAIT)
    assert not reader.is_alive()
    assert len(got) == writers * per_writer
    for w in range(writers):
        assert [i for who, i in got if who == w] == list(range(per_writer))


def test_the_wake_up_descriptor_is_closed_once_the_inbox_is_gone() -> None:
    inbox = Inbox()
    fd = inbox._fd
    os.fstat(fd)
    del inbox
    gc.collect()
    try:
        os.fstat(fd)
    except OSError:
        return
    # the number may already have been reused by another descriptor; then it is not ours
    assert os.readlink(f"/proc/self/fd/{fd}") != "anon_inode:[eventfd]"
