"""The batch framework's client verbs: talk to a running framework's HTTP API.

::

    python -m frameworks.batch submit jobs.json --url http://127.0.0.1:4400
    python -m frameworks.batch jobs|status NAME|start NAME|delete NAME|watch [NAME] --url ...

``--url`` defaults to ``MESETA_BATCH_URL``. ``submit FILE`` (``-``: stdin) posts a list
of jobs (or one job) to ``/v1/scheduler/jobs``; ``jobs`` prints a table (``--json`` the
API's JSON); ``status NAME`` prints the job with its history as JSON; ``start`` runs a
job now; ``delete`` deletes it. ``watch`` polls every ``--interval`` seconds and prints
one line per run state change (``<time> <job> run <n> <STATE> [attempt <k> on <agent>]``)
until the framework has nothing left to do (with ``NAME``: until that job is idle with
no run to come); it exits 1 if a watched run failed. An unreachable framework or an
API error prints ``batch: ...`` and exits 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any, TextIO

__all__ = ["ClientError", "add_parsers", "request"]


class ClientError(Exception):
    """The API could not be reached or answered an error; the message says which."""


def request(url: str, method: str, path: str, body: bytes | None = None) -> Any:
    """The JSON the API answers ``method path`` with; raises ``ClientError``."""
    req = urllib.request.Request(url.rstrip("/") + path, data=body, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as reply:
            text = reply.read()
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read())["message"]
        except (ValueError, KeyError, TypeError):
            message = exc.reason
        raise ClientError(f"{method} {path}: {exc.code} {message}") from None
    except OSError as exc:
        raise ClientError(f"cannot reach the batch framework at {url}: {exc}") from None
    return json.loads(text) if text else None


def _submit(args: argparse.Namespace, out: TextIO) -> int:
    try:
        text = sys.stdin.read() if args.file == "-" else open(args.file).read()
    except OSError as exc:
        raise ClientError(f"cannot read {args.file}: {exc.strerror}") from None
    reply = request(args.url, "POST", "/v1/scheduler/jobs", text.encode())
    print(f"submitted {', '.join(reply['submitted'])}", file=out)
    return 0


def _jobs(args: argparse.Namespace, out: TextIO) -> int:
    jobs = request(args.url, "GET", "/v1/scheduler/jobs")
    if args.json:
        print(json.dumps(jobs, indent=2), file=out)
        return 0
    rows = [("NAME", "STATE", "LAST RUN", "OK", "FAILED", "NEXT RUN")] + [
        (j["name"], j["state"], j["last_run"] or "-", str(j["success_count"]),
         str(j["error_count"]), j["next_run"] or "-") for j in jobs]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=out)
    return 0


def _status(args: argparse.Namespace, out: TextIO) -> int:
    print(json.dumps(request(args.url, "GET", f"/v1/scheduler/job/{args.name}"), indent=2),
          file=out)
    return 0


def _start(args: argparse.Namespace, out: TextIO) -> int:
    reply = request(args.url, "POST", f"/v1/scheduler/job/{args.name}")
    print(f"started {args.name} run {reply['run']}", file=out)
    return 0


def _delete(args: argparse.Namespace, out: TextIO) -> int:
    request(args.url, "DELETE", f"/v1/scheduler/job/{args.name}")
    print(f"deleted {args.name}", file=out)
    return 0


def _watch(args: argparse.Namespace, out: TextIO) -> int:
    seen: dict[tuple[str, int], tuple[str, int]] = {}
    failed = False
    while True:
        names = [args.name] if args.name else [
            j["name"] for j in request(args.url, "GET", "/v1/scheduler/jobs")]
        jobs = [request(args.url, "GET", f"/v1/scheduler/job/{n}") for n in names]
        for job in jobs:
            for run in job["runs"]:
                key, now = (job["name"], run["run"]), (run["state"], len(run["attempts"]))
                if seen.get(key) != now:
                    seen[key] = now
                    failed = failed or run["state"] == "FAILED"
                    where = ""
                    if run["attempts"]:
                        where = f" attempt {len(run['attempts'])} on {run['agent_id']}"
                    print(f"{time.strftime('%H:%M:%S')} {job['name']} run {run['run']} "
                          f"{run['state']}{where}", file=out, flush=True)
        if args.name:
            job = jobs[0]
            over = job["state"] == "idle" and job["next_run"] is None and job["runs"]
        else:
            over = request(args.url, "GET", "/v1/scheduler/summary")["done"]
        if over:
            return 1 if failed else 0
        time.sleep(args.interval)


def add_parsers(sub: Any) -> None:
    """The client verbs, on ``argparse`` sub-parsers."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=os.environ.get("MESETA_BATCH_URL"),
                        help="the framework's API, http://127.0.0.1:PORT (MESETA_BATCH_URL)")
    p = sub.add_parser("submit", parents=[common], help="submit jobs from a JSON file")
    p.add_argument("file", help="a JSON list of jobs, or one job; - for stdin")
    p.set_defaults(verb=_submit)
    p = sub.add_parser("jobs", parents=[common], help="list the jobs")
    p.add_argument("--json", action="store_true", help="print the API's JSON")
    p.set_defaults(verb=_jobs)
    for name, verb, text in (("status", _status, "a job and its history, as JSON"),
                             ("start", _start, "run a job now"),
                             ("delete", _delete, "delete a job (killing its tasks)")):
        p = sub.add_parser(name, parents=[common], help=text)
        p.add_argument("name")
        p.set_defaults(verb=verb)
    p = sub.add_parser("watch", parents=[common], help="print run state changes until done")
    p.add_argument("name", nargs="?")
    p.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    p.set_defaults(verb=_watch)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if not args.url:
        print("batch: error: --url (or MESETA_BATCH_URL) is required", file=err)
        return 2
    try:
        return int(args.verb(args, out))
    except ClientError as exc:
        print(f"batch: {exc}", file=err)
        return 1


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="batch")
    add_parsers(parser.add_subparsers(dest="command", required=True, metavar="VERB"))
    return run(parser.parse_args(list(argv)), sys.stdout, sys.stderr)
