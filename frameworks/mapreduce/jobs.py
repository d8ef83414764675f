"""The jobs' pure map/reduce logic: splitting into work items, map, reduce.

Nothing here knows about clusters; the scheduler (``frameworks.mapreduce.scheduler``)
builds a ``Job``'s items and reduces their results, the worker processes
(``frameworks.mapreduce.worker``) run ``run_item`` on each item, and ``Job.local_answer``
computes the same answer in one process (what the tests compare against).

A work item is a JSON-able dict: ``{"id": int, "kind": "pi"|"wordcount", ...}`` plus
``min_seconds`` (``--item_seconds``). Two jobs:

- ``pi``: Monte Carlo. ``samples`` points split over ``items`` items, item ``i`` drawing
  from its own ``random.Random(seed * 1_000_000 + i)``; map = how many points fell
  inside the quarter circle; reduce = ``4 * inside / samples``. The answer depends only
  on (samples, items, seed), never on which executor ran what.
- ``wordcount``: input files cut into items of ``split_lines`` lines (a word never spans
  lines, so cuts are exact); map = ``Counter`` of the words of a split (runs of ``\\w``,
  lower-cased); reduce = the merged counts, reported as the top K (count, then word).

``min_seconds`` makes an item take at least that long (it sleeps the remainder): demos on
a small machine use it to model longer work without burning the cores.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["WORD", "Job", "count_words", "merge_counts", "pi_inside", "pi_job", "run_item",
           "split_lines", "top_words", "wordcount_job"]

WORD = re.compile(r"\w+")
"""What a word is: a run of letters, digits and underscores (after lower-casing)."""

Item = dict[str, Any]


def split_lines(texts: Iterable[str], lines_per_split: int) -> list[str]:
    """Each text cut into pieces of ``lines_per_split`` lines (the last may be shorter)."""
    if lines_per_split < 1:
        raise ValueError("lines_per_split must be at least 1")
    splits = []
    for text in texts:
        lines = text.splitlines(keepends=True)
        for start in range(0, len(lines), lines_per_split):
            splits.append("".join(lines[start:start + lines_per_split]))
    return splits


def count_words(text: str) -> dict[str, int]:
    """Map of wordcount: how often each word occurs in ``text``."""
    return dict(Counter(WORD.findall(text.lower())))


def merge_counts(counts: Iterable[Mapping[str, int]]) -> Counter[str]:
    """Reduce of wordcount: the sum of the splits' counts."""
    total: Counter[str] = Counter()
    for part in counts:
        total.update(part)
    return total


def top_words(counts: Mapping[str, int], k: int) -> list[tuple[str, int]]:
    """The ``k`` most frequent words, ties broken by the word (deterministic)."""
    return sorted(counts.items(), key=lambda wc: (-wc[1], wc[0]))[:k]


def pi_inside(samples: int, seed: int) -> int:
    """Map of pi: how many of ``samples`` random points in the unit square have x²+y² ≤ 1."""
    rnd = random.Random(seed).random
    inside = 0
    for _ in range(samples):
        x, y = rnd(), rnd()
        if x * x + y * y <= 1.0:
            inside += 1
    return inside


def run_item(item: Mapping[str, Any], sleep: Callable[[float], None] = time.sleep,
             clock: Callable[[], float] = time.monotonic) -> Any:
    """Run one work item (what a worker does); at least ``min_seconds`` long."""
    started = clock()
    kind = item.get("kind")
    if kind == "pi":
        value: Any = pi_inside(int(item["samples"]), int(item["seed"]))
    elif kind == "wordcount":
        value = count_words(str(item["text"]))
    else:
        raise ValueError(f"unknown kind of work item: {kind!r}")
    left = float(item.get("min_seconds", 0.0)) - (clock() - started)
    if left > 0:
        sleep(left)
    return value


@dataclass(frozen=True)
class Job:
    """A job: its work items and how to reduce their results to the answer."""

    name: str
    items: tuple[Item, ...]
    reduce: Callable[[Sequence[Any]], dict[str, Any]]
    """Results in item order -> the summary fields (``answer`` and job specifics)."""

    def local_answer(self) -> dict[str, Any]:
        """The answer computed here, item by item (no cluster, no ``min_seconds``)."""
        return self.reduce([run_item({**item, "min_seconds": 0}) for item in self.items])


def pi_job(samples: int, items: int, seed: int, min_seconds: float = 0.0) -> Job:
    """``samples`` points over ``items`` items (the first ones get the remainder)."""
    if items < 1 or samples < items:
        raise ValueError("need at least one item and at least one sample per item")
    per, extra = divmod(samples, items)
    work = tuple({"id": i, "kind": "pi", "samples": per + (1 if i < extra else 0),
                  "seed": seed * 1_000_000 + i, "min_seconds": min_seconds}
                 for i in range(items))

    def reduce(results: Sequence[Any]) -> dict[str, Any]:
        inside = sum(int(r) for r in results)
        return {"answer": 4.0 * inside / samples, "samples": samples, "inside": inside}

    return Job("pi", work, reduce)


def wordcount_job(texts: Sequence[str], lines_per_split: int, top: int,
                  output: str | None = None, min_seconds: float = 0.0) -> Job:
    """Word counts of ``texts``; the answer is the top ``top`` words, or ``output``'s path
    after writing every count there (``word<TAB>count`` lines, most frequent first)."""
    work = tuple({"id": i, "kind": "wordcount", "text": split, "min_seconds": min_seconds}
                 for i, split in enumerate(split_lines(texts, lines_per_split)))

    def reduce(results: Sequence[Any]) -> dict[str, Any]:
        counts = merge_counts(results)
        summary: dict[str, Any] = {"total_words": sum(counts.values()),
                                   "distinct_words": len(counts)}
        if output is not None:
            with open(output, "w", encoding="utf-8") as out:
                for word, n in top_words(counts, len(counts)):
                    out.write(f"{word}\t{n}\n")
            summary["answer"] = output
        else:
            summary["answer"] = [[w, n] for w, n in top_words(counts, top)]
        return summary

    return Job("wordcount", work, reduce)
