"""The mapreduce framework's pure parts: splitting, map and reduce, the message schema."""

from __future__ import annotations

import io
import json
import math
import re
import socket
from collections import Counter
from pathlib import Path

import pytest

from frameworks.mapreduce import protocol
from frameworks.mapreduce.cli import gather_inputs, run
from frameworks.mapreduce.jobs import (
    count_words,
    merge_counts,
    pi_inside,
    pi_job,
    run_item,
    split_lines,
    top_words,
    wordcount_job,
)

TEXT = "One fish, two fish.\nRed fish; blue fish!\n\nfish_sticks 42 times\nlast line"


def test_split_lines_cuts_every_n_lines_and_loses_nothing() -> None:
    splits = split_lines([TEXT, "x\ny\n"], 2)
    assert splits == ["One fish, two fish.\nRed fish; blue fish!\n", "\nfish_sticks 42 times\n",
                      "last line", "x\ny\n"]
    assert "".join(splits) == TEXT + "x\ny\n"
    assert split_lines([""], 3) == []
    with pytest.raises(ValueError):
        split_lines([TEXT], 0)


def test_word_counts_of_splits_merge_to_the_counts_of_the_whole_text() -> None:
    assert count_words("Fish fish, FISH! a_b 42") == {"fish": 3, "a_b": 1, "42": 1}
    direct = Counter(re.findall(r"\w+", TEXT.lower()))
    for n in (1, 2, 3, 100):
        assert merge_counts(count_words(s) for s in split_lines([TEXT], n)) == direct


def test_top_words_breaks_ties_by_the_word() -> None:
    counts = {"b": 2, "a": 2, "c": 5, "d": 1}
    assert top_words(counts, 3) == [("c", 5), ("a", 2), ("b", 2)]
    assert top_words(counts, 10) == [("c", 5), ("a", 2), ("b", 2), ("d", 1)]


def test_pi_is_deterministic_per_seed_and_close_to_pi() -> None:
    assert pi_inside(1000, 5) == pi_inside(1000, 5)
    job = pi_job(200_001, 7, seed=11)
    assert sum(item["samples"] for item in job.items) == 200_001
    assert len({item["seed"] for item in job.items}) == 7
    answer = job.local_answer()
    assert answer == pi_job(200_001, 7, seed=11).local_answer()
    assert answer != pi_job(200_001, 7, seed=12).local_answer()
    assert abs(answer["answer"] - math.pi) < 0.02
    # The answer depends on the items' seeds, not on the order results come in.
    results = [run_item(item) for item in job.items]
    assert job.reduce(results) == answer
    with pytest.raises(ValueError):
        pi_job(3, 4, seed=1)


def test_run_item_sleeps_the_rest_of_min_seconds() -> None:
    clock = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    item = {"id": 0, "kind": "wordcount", "text": "a a b", "min_seconds": 2.5}
    assert run_item(item, sleep, lambda: clock[0]) == {"a": 2, "b": 1}
    assert slept == [2.5]
    run_item({**item, "min_seconds": 0}, sleep, lambda: clock[0])
    assert slept == [2.5]
    with pytest.raises(ValueError):
        run_item({"id": 1, "kind": "sort"})


def test_wordcount_job_answers_top_k_or_writes_every_count(tmp_path: Path) -> None:
    job = wordcount_job([TEXT, "fish"], lines_per_split=2, top=2)
    assert [item["id"] for item in job.items] == list(range(len(job.items))) == [0, 1, 2, 3]
    summary = job.local_answer()
    assert summary["answer"] == [["fish", 5], ["42", 1]]
    assert summary["total_words"] == len(re.findall(r"\w+", TEXT)) + 1
    out = tmp_path / "counts.tsv"
    summary = wordcount_job([TEXT], 3, top=1, output=str(out)).local_answer()
    assert summary["answer"] == str(out)
    lines = out.read_text().splitlines()
    assert lines[0] == "fish\t4" and len(lines) == summary["distinct_words"]


def test_messages_round_trip_and_malformed_ones_decode_to_none() -> None:
    item = {"id": 3, "kind": "pi", "samples": 10, "seed": 1}
    assert protocol.decode(protocol.work(item)) == {"type": "work", "item": item}
    assert protocol.decode(protocol.result(3, 7, 0.5)) == {
        "type": "result", "id": 3, "value": 7, "seconds": 0.5}
    assert protocol.decode(protocol.failure(3, "bad")) == {
        "type": "result", "id": 3, "error": "bad"}
    assert protocol.decode(protocol.stop()) == {"type": "stop"}
    assert json.loads(protocol.stop()) == {"type": "stop"}
    for bad in (b"\xff\xfe", b"not json", b"[1]", b'{"type": "work"}',
                b'{"type": "work", "item": {"id": "3", "kind": "pi"}}',
                b'{"type": "result", "id": true, "value": 1}', b'{"type": "result", "id": 1}',
                b'{"type": "launch"}'):
        assert protocol.decode(bad) is None, bad


def test_input_flag_takes_several_files() -> None:
    assert gather_inputs(["--job=wordcount", "--input", "a", "b", "--top=3", "--input=c,d"]) \
        == ["--job=wordcount", "--top=3", "--input=a,b,c,d"]
    assert gather_inputs(["--job=pi"]) == ["--job=pi"]


def test_bad_flags_exit_2_with_a_message(tmp_path: Path) -> None:
    for argv, words in ((["--items=3"], "--job"), (["--job=pi", "--samples=2", "--items=5"],
                                                   "--samples"),
                        (["--job=wordcount"], "--input"),
                        (["--job=wordcount", f"--input={tmp_path / 'none.txt'}"], "cannot read")):
        err = io.StringIO()
        assert run(argv, io.StringIO(), err) == 2
        assert words in err.getvalue()
    for argv in (["--job=sort"], ["--job=pi", "--items=0"], ["--job=pi", "--master=nohost"],
                 ["--job=pi", "--item_seconds=-1"], ["--job=pi", "--role=a b"]):
        with pytest.raises(SystemExit) as exc:
            run(argv)
        assert exc.value.code == 2, argv


def test_no_master_exits_1_after_the_registration_timeout() -> None:
    with socket.socket() as s:  # a port nobody serves
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    err = io.StringIO()
    status = run(["--job=pi", f"--master=127.0.0.1:{port}", "--registration_timeout=1secs"],
                 io.StringIO(), err)
    assert status == 1 and "registered the framework" in err.getvalue()
