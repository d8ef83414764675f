"""The fetcher: a run's ``CommandInfo.uris`` into its sandbox before the executor starts.

Mesos' ``mesos-fetcher`` (``docs/fetcher.md``), run by the agent on a worker thread
(``background``; ``running`` posts the outcome back to the agent's thread). For each
``URI``, in order:

- ``value``: an absolute local path or ``file://`` URL (copied), or an ``http://`` /
  ``https://`` URL (downloaded with urllib, redirects followed, giving up after
  ``STALL_TIMEOUT`` without data: Mesos' ``--fetcher_stall_timeout`` default);
  anything else fails;
- the file is named ``output_file`` if set (a relative path inside the sandbox), else the
  basename of the path or URL path (``uri_filename``);
- ``executable=True``: the file gets ``+x`` and is never extracted;
- else ``extract=True`` (the default): a recognised archive (``archives``) is unpacked
  into the sandbox, refusing members that would escape it; the archive stays.

The first failure stops the fetch: ``fetch_all`` returns why (``running`` then fails the
task with REASON_CONTAINER_LAUNCH_FAILED and launches nothing). Progress and errors are
appended to the sandbox's ``stderr``, as Mesos' fetcher logs into the sandbox.
``--fetcher_cache_dir`` caching (``URI.cache``) is not implemented: a cached URI is
fetched like any other.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from typing import IO

from actors.agent.archives import ArchiveError, extract, is_archive, unsafe_member
from actors.messages.tasks import URI

__all__ = ["STALL_TIMEOUT", "FetchError", "fetch_all", "fetch_uri", "uri_filename"]

STALL_TIMEOUT = 60.0
"""Seconds a download may go without data before it fails (Mesos: 1 min)."""

_CHUNK = 1 << 16


class FetchError(OSError):
    """A URI that could not be fetched; the message names it and says why."""


def _split(value: str) -> tuple[str, str]:
    """``(scheme, path)``: ``("file", "/a/b")`` for a local path or ``file://`` URL."""
    if value.startswith("/"):
        return "file", value
    parsed = urllib.parse.urlsplit(value)
    scheme = parsed.scheme.lower()
    if scheme == "file":
        if parsed.netloc not in ("", "localhost"):
            raise FetchError(f"'{value}': a file:// URL names no other host")
        return "file", urllib.parse.unquote(parsed.path)
    if scheme in ("http", "https"):
        return scheme, urllib.parse.unquote(parsed.path)
    if not scheme:
        raise FetchError(f"'{value}' is neither an absolute path nor a URL")
    raise FetchError(f"'{value}': the {scheme}:// scheme is not supported "
                     "(use a local path, file://, http:// or https://)")


def uri_filename(uri: URI) -> str:
    """The sandbox-relative name ``uri`` is fetched to; ``FetchError`` if it has none."""
    if uri.output_file:
        name = uri.output_file
        problem = unsafe_member(name, "/sandbox")
        if problem is not None:
            raise FetchError(f"output_file '{name}' must be a relative path inside "
                             "the sandbox")
        return os.path.normpath(name)
    _, path = _split(uri.value)
    name = os.path.basename(path.rstrip("/"))
    if not name or name in (".", ".."):
        raise FetchError(f"'{uri.value}' names no file (set output_file)")
    return name


def _copy(source: str, target: str) -> None:
    if not os.path.isfile(source):
        raise FetchError(f"'{source}' is not a file")
    shutil.copyfile(source, target)


def _download(url: str, target: str, timeout: float) -> int:
    request = urllib.request.Request(url, headers={"User-Agent": "meseta-fetcher"})
    size = 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response, \
                open(target, "wb") as out:
            if response.status != 200:
                raise FetchError(f"'{url}': HTTP status {response.status}")
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                size += len(chunk)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"'{url}': HTTP status {exc.code} ({exc.reason})") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"'{url}': {reason}") from None
    return size


def fetch_uri(uri: URI, sandbox: str, log: IO[str],
              timeout: float = STALL_TIMEOUT) -> str:
    """Fetch one URI into ``sandbox``; the path written. ``FetchError`` if it fails."""
    name = uri_filename(uri)
    scheme, path = _split(uri.value)
    target = os.path.join(sandbox, name)
    os.makedirs(os.path.dirname(target), exist_ok=True)
    log.write(f"Fetching URI '{uri.value}'\n")
    tmp = f"{target}.fetching"
    try:
        if scheme == "file":
            _copy(path, tmp)
        else:
            _download(uri.value, tmp, timeout)
        os.replace(tmp, target)
    except OSError as exc:
        _discard(tmp)
        if isinstance(exc, FetchError):
            raise
        raise FetchError(f"'{uri.value}': {exc.strerror or exc}") from None
    log.write(f"Fetched '{uri.value}' to '{target}'\n")
    if uri.executable:
        mode = os.stat(target).st_mode
        os.chmod(target, mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    elif uri.extract and is_archive(name):
        try:
            members = extract(target, sandbox)
        except ArchiveError as exc:
            raise FetchError(f"'{uri.value}': {exc}") from None
        log.write(f"Extracted '{target}' ({len(members)} entries)\n")
    return target


def _discard(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def fetch_all(uris: Iterable[URI], sandbox: str, stderr: str,
              timeout: float = STALL_TIMEOUT) -> str | None:
    """Fetch every URI in order; ``None`` when all arrived, else why the first failed."""
    with open(stderr, "a", encoding="utf-8", errors="replace") as log:
        start = time.monotonic()
        try:
            for uri in uris:
                fetch_uri(uri, sandbox, log, timeout)
                log.flush()
        except OSError as exc:
            log.write(f"Failed to fetch: {exc}\n")
            return str(exc)
        log.write(f"Fetched all URIs in {time.monotonic() - start:.3f}s\n")
    return None
