"""Unpacking fetched archives into a sandbox, refusing members that would escape it.

``fetcher`` calls ``extract(path, dest)`` on its worker thread for a URI with
``extract=True`` whose name ends in one of ``ARCHIVE_SUFFIXES`` (Mesos' fetcher:
``.tar``, ``.tar.gz`` / ``.tgz``, ``.tar.bz2``, ``.tar.xz``, ``.zip``, and ``.gz`` for
a single compressed file, written beside it without the suffix); the archive itself
stays. Every member is checked by ``unsafe_member`` before it is written, against the
directory as it is at that moment (so a symlink unpacked earlier cannot be used to
reach out): an absolute name, a ``..`` component, a name that resolves outside
``dest``, a link whose target resolves outside it, or a device / fifo fails the whole
extraction with ``ArchiveError`` naming the member (nothing past it is written).
"""

from __future__ import annotations

import gzip
import os
import shutil
import stat
import tarfile
import zipfile

__all__ = ["ARCHIVE_SUFFIXES", "ArchiveError", "extract", "is_archive", "unsafe_member",
           "within"]

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz",
                    ".zip", ".gz")


class ArchiveError(OSError):
    """An archive that cannot be unpacked, or a member refused (the message says which)."""


def is_archive(name: str) -> bool:
    return name.lower().endswith(ARCHIVE_SUFFIXES)


def within(root: str, path: str) -> bool:
    """``path`` is ``root`` or below it (both already resolved)."""
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def unsafe_member(name: str, dest: str, link: str | None = None,
                  hard: bool = False) -> str | None:
    """Why member ``name`` (a link to ``link``, if given) may not be unpacked into ``dest``.

    ``dest`` must be resolved (``os.path.realpath``); ``None`` means it is safe.
    A symlink's target is relative to the member's directory, a hard link's to ``dest``.
    """
    parts = name.replace("\\", "/").split("/")
    if not name or name.startswith("/") or os.path.isabs(name):
        return f"archive member '{name}' has an absolute path"
    if ".." in parts:
        return f"archive member '{name}' contains '..'"
    target = os.path.realpath(os.path.join(dest, name))
    if not within(dest, target):
        return f"archive member '{name}' resolves outside the sandbox"
    if link is not None:
        if os.path.isabs(link):
            return f"archive member '{name}' links to the absolute path '{link}'"
        base = dest if hard else os.path.dirname(target)
        if not within(dest, os.path.realpath(os.path.join(base, link))):
            return f"archive member '{name}' links to '{link}', outside the sandbox"
    return None


def extract(path: str, dest: str) -> list[str]:
    """Unpack the archive at ``path`` into ``dest``; the names written, in order."""
    dest = os.path.realpath(dest)
    lower = path.lower()
    try:
        if lower.endswith(".zip"):
            return _unzip(path, dest)
        if tarfile.is_tarfile(path):
            return _untar(path, dest)
        if lower.endswith(".gz"):
            return [_gunzip(path, dest)]
    except (tarfile.TarError, zipfile.BadZipFile, EOFError, gzip.BadGzipFile) as exc:
        raise ArchiveError(f"cannot extract '{os.path.basename(path)}': {exc}") from None
    raise ArchiveError(f"'{os.path.basename(path)}' is not a tar, zip or gzip archive")


def _untar(path: str, dest: str) -> list[str]:
    names = []
    with tarfile.open(path) as tar:
        for member in tar:
            if member.isdev() or member.isfifo():
                raise ArchiveError(f"archive member '{member.name}' is a device or fifo")
            link = member.linkname if (member.issym() or member.islnk()) else None
            problem = unsafe_member(member.name, dest, link, hard=member.islnk())
            if problem is not None:
                raise ArchiveError(problem)
            # The data filter repeats the checks tarfile knows of (belt and braces).
            tar.extract(member, dest, filter="data")
            names.append(member.name)
    return names


def _unzip(path: str, dest: str) -> list[str]:
    names = []
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            problem = unsafe_member(info.filename, dest)
            if problem is not None:
                raise ArchiveError(problem)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise ArchiveError(f"archive member '{info.filename}' is a symlink")
            written = archive.extract(info, dest)
            if mode & 0o777 and not info.is_dir():
                os.chmod(written, mode & 0o777)  # as unzip keeps the executable bits
            names.append(info.filename)
    return names


def _gunzip(path: str, dest: str) -> str:
    name = os.path.basename(path)[:-3]
    problem = unsafe_member(name, dest) if name else "a '.gz' file needs a name"
    if problem is not None:
        raise ArchiveError(problem)
    out = os.path.join(dest, name)
    with gzip.open(path, "rb") as src, open(out, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return name
