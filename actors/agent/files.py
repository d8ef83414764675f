"""The sandbox file API: Mesos' ``/files/browse``, ``/files/read`` and ``/files/download``.

``AgentActor`` serves them on its HTTP port (``sandboxes`` installs the routes) and
answers from ``sandbox_roots``: the sandboxes of the executors it knows (running, and
completed ones until they are collected), each reachable under three names -- its real
directory (``<work_dir>/agents/<agent_id>/frameworks/<fid>/executors/<eid>/runs/<run_id>``),
the ``runs/latest`` link beside it, and Mesos' virtual path
``/frameworks/<fid>/executors/<eid>/runs/latest`` (and ``.../runs/<run_id>``). A ``path``
is resolved as Mesos' ``FilesProcess::resolve`` does: the longest name that prefixes it,
plus the rest, canonicalised; the result must stay inside that sandbox.

Refused: a sandbox the caller may not access (403: ``--acls`` ``access_sandboxes`` on
the executor's user, else its framework's; ``denied_sandboxes``), a ``..`` component
(403), a path under no sandbox (404: the agent's other files, ``meta/`` included, are
not served), and one that resolves outside its sandbox through a
symlink (403, the target is never opened). ``read`` answers ``{"data", "offset"}``:
``offset=-1`` (or none) gives the file's size with no data, ``length`` absent or ``-1``
reads to the end; at most ``READ_LIMIT`` bytes (Mesos: 16 pages); an offset past the end
answers the size. ``browse`` lists a directory (Mesos' ``jsonFileInfo``: path, size,
mode as ``ls`` prints it, mtime, nlink, uid, gid as names; a symlink is shown as itself,
its target never looked at), ``download`` sends the bytes
(``Content-Disposition: attachment``; at most ``DOWNLOAD_LIMIT``: the agent's thread
reads the file).
"""

from __future__ import annotations

import grp
import mimetypes
import os
import pwd
import stat
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

from actors.agent.archives import within
from actors.agent.executors import ExecutorRecord, FrameworkRecord
from transport.http import HttpResponse

__all__ = ["DOWNLOAD_LIMIT", "READ_LIMIT", "browse", "denied_sandboxes", "download", "read",
           "resolve", "sandbox_roots"]

READ_LIMIT = 16 * 4096
"""Most bytes one ``/files/read`` returns (Mesos: 16 pages)."""

DOWNLOAD_LIMIT = 64 << 20
"""Largest file ``/files/download`` sends (it is read on the agent's thread)."""


def sandbox_roots(frameworks: Iterable[FrameworkRecord]) -> dict[str, str]:
    """Name -> sandbox directory for every executor run of ``frameworks`` (oldest first,
    so the ``latest`` names end on the newest run)."""
    roots: dict[str, str] = {}
    for framework in frameworks:
        runs: list[ExecutorRecord] = [*framework.completed_executors,
                                      *framework.executors.values()]
        for executor in runs:
            directory = os.path.abspath(executor.sandbox.directory)
            virtual = (f"/frameworks/{framework.framework_id}/executors/"
                       f"{executor.executor_id}/runs")
            for name in (directory, os.path.join(os.path.dirname(directory), "latest"),
                         f"{virtual}/latest", f"{virtual}/{executor.run_id}"):
                roots[name] = directory
    return roots


def denied_sandboxes(frameworks: Iterable[FrameworkRecord],
                     allowed: Callable[[str], bool]) -> frozenset[str]:
    """The sandbox directories whose user (the executor's command user, else the
    framework's) ``allowed`` refuses."""
    out = set()
    for framework in frameworks:
        for executor in [*framework.completed_executors, *framework.executors.values()]:
            command = executor.info.command
            user = (command.user if command is not None and command.user
                    else framework.info.user)
            if not allowed(user):
                out.add(os.path.abspath(executor.sandbox.directory))
    return frozenset(out)


def _error(status: int, message: str) -> HttpResponse:
    return HttpResponse.json({"error": message}, status=status)


def resolve(path: str, roots: Mapping[str, str],
            denied: Collection[str] = frozenset()) -> str | HttpResponse:
    """The real path ``path`` names inside a sandbox, or the error response."""
    if not path:
        return _error(400, "expecting 'path=value' in the query")
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        return _error(403, f"'{path}': '..' is not allowed")
    for cut in range(len(parts), 0, -1):
        name = "/" + "/".join(parts[:cut])
        root = roots.get(name)
        if root is None:
            continue
        if root in denied:
            return _error(403, f"'{path}': not authorized to access this sandbox")
        real_root = os.path.realpath(root)
        real = os.path.realpath(os.path.join(real_root, *parts[cut:]))
        if not within(real_root, real):
            return _error(403, f"'{path}' resolves outside its sandbox")
        if not os.path.exists(real):
            return _error(404, f"'{path}' does not exist")
        return real
    return _error(404, f"'{path}' is in no sandbox of this agent")


def _int(query: Mapping[str, str], name: str) -> int:
    text = query.get(name, "-1")
    return int(text) if text.strip() else -1


def read(query: Mapping[str, str], roots: Mapping[str, str],
         denied: Collection[str] = frozenset(), limit: int = READ_LIMIT) -> HttpResponse:
    """``/files/read?path=&offset=&length=``; see the module docstring."""
    try:
        offset, length = _int(query, "offset"), _int(query, "length")
    except ValueError:
        return _error(400, "offset and length are integers")
    if offset < -1 or length < -1:
        return _error(400, "offset and length are -1 or more")
    real = resolve(query.get("path", ""), roots, denied)
    if isinstance(real, HttpResponse):
        return real
    if os.path.isdir(real):
        return _error(400, "cannot read a directory")
    try:
        with open(real, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if offset == -1 or offset >= size:
                return HttpResponse.json({"data": "", "offset": size})
            if length == -1:
                length = size - offset
            f.seek(offset)
            data = f.read(min(length, limit))
    except OSError as exc:
        return _error(500, f"cannot read '{query.get('path')}': {exc.strerror or exc}")
    return HttpResponse.json({"data": data.decode(errors="replace"), "offset": offset})


def _name(lookup: Any, ident: int) -> str:
    try:
        return str(lookup(ident)[0])
    except KeyError:
        return str(ident)


def file_info(virtual: str, st: os.stat_result) -> dict[str, Any]:
    """Mesos' ``jsonFileInfo``."""
    return {"path": virtual, "size": st.st_size, "mode": stat.filemode(st.st_mode),
            "mtime": int(st.st_mtime), "nlink": st.st_nlink,
            "uid": _name(pwd.getpwuid, st.st_uid), "gid": _name(grp.getgrgid, st.st_gid)}


def browse(query: Mapping[str, str], roots: Mapping[str, str],
           denied: Collection[str] = frozenset()) -> HttpResponse:
    """``/files/browse?path=``: the directory's entries, sorted by path."""
    path = query.get("path", "")
    real = resolve(path, roots, denied)
    if isinstance(real, HttpResponse):
        return real
    if not os.path.isdir(real):
        return _error(400, "cannot browse a file")
    listing = []
    try:
        entries = sorted(os.listdir(real))
    except OSError as exc:
        return _error(500, f"cannot list '{path}': {exc.strerror or exc}")
    for entry in entries:
        try:
            st = os.lstat(os.path.join(real, entry))  # a link is not followed
        except OSError:
            continue
        listing.append(file_info(path.rstrip("/") + "/" + entry, st))
    return HttpResponse.json(listing)


def download(query: Mapping[str, str], roots: Mapping[str, str],
             denied: Collection[str] = frozenset(), limit: int = DOWNLOAD_LIMIT) -> HttpResponse:
    """``/files/download?path=``: the file's bytes as an attachment."""
    real = resolve(query.get("path", ""), roots, denied)
    if isinstance(real, HttpResponse):
        return real
    if os.path.isdir(real):
        return _error(400, "cannot download a directory")
    try:
        if os.path.getsize(real) > limit:
            return _error(413, f"larger than {limit} bytes; read it with /files/read")
        with open(real, "rb") as f:
            body = f.read()
    except OSError as exc:
        return _error(500, f"cannot read '{query.get('path')}': {exc.strerror or exc}")
    name = os.path.basename(real)
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return HttpResponse(200, body, kind,
                        {"Content-Disposition": f"attachment; filename={name}"})
