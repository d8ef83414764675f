"""The warm launcher: executors forked from a helper that has already imported them.

A fresh Python interpreter that imports pykka, zmq, structlog and Meseta's messages
takes ~100 ms of CPU before an executor can register; forking a process that has done
it already takes ~1-2 ms. So the agent (``WarmLauncher``, its side) starts one helper
process, ``python -m actors.agent.warm FD`` (``serve``, the other side), which imports
the executor modules but creates no thread and no zmq context (so forking it is
safe), then serves launch requests over a Unix socketpair:

- agent -> helper: ``{"op": "launch", "id", "module", "args", "env", "cwd", "stdout",
  "stderr", "cgroups", "run_as"}`` (``run_as``: ``[uid, gid, [groups]]`` or None);
  helper -> agent: ``{"op": "launched", "id", "pid"}`` or ``{"op": "error", "id",
  "error"}``;
- helper -> agent: ``{"op": "exited", "pid", "status"}`` when a child it forked ends
  (it reaps them on SIGCHLD; it is a child subreaper, so orphaned task processes are
  reaped too).

Frames are a 4-byte big-endian length and a msgpack map; zmq is not used (only the
transport's I/O thread may touch zmq in the agent). A reader thread in the agent
resolves launch replies and hands exit reports to ``on_exit`` (which the actor turns
into a ``_post``). The forked child calls ``setsid()``, points fds 0/1/2 at
/dev/null and the sandbox files, writes its pid into the container's ``cgroups``
(``cgroup.procs`` files; a failure ends it with status 1), becomes the task's user when
asked (``actors.agent.users.become``; the preloaded modules need no file access then),
enters the sandbox, swaps
in the executor's environment (honouring its ``PYTHONPATH``) and runs the module with
``runpy.run_module(name, run_name="__main__")``. The helper exits when the agent
closes its end.
"""

from __future__ import annotations

import ctypes
import gc
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
from concurrent.futures import Future
from typing import Any, NoReturn

import msgpack

from actors.agent.launcher import ExitCallback, LaunchError, LaunchSpec, kill_tree
from actors.agent.users import become
from transport.affinity import unpinned

__all__ = ["PRELOAD", "WarmLauncher", "serve"]

PRELOAD = ("msgpack", "zmq", "pykka", "structlog", "psutil", "transport", "transport.node",
           "transport.logs", "actors.messages", "frameworks.executor_driver",
           "frameworks.command_executor", "frameworks.default_executor", "runpy", "traceback",
           "warnings")
"""Modules the helper imports before it forks anything (a child that switched user may
not be able to read the interpreter's own directories any more)."""

_HEADER = struct.Struct(">I")
_MAX_FRAME = 16 * 1024 * 1024
_PR_SET_CHILD_SUBREAPER = 36


def _pack(obj: dict[str, Any]) -> bytes:
    body: bytes = msgpack.packb(obj, use_bin_type=True)
    return _HEADER.pack(len(body)) + body


class _Framer:
    """Splits a byte stream into msgpack maps."""

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        self._buf += data
        out: list[dict[str, Any]] = []
        while len(self._buf) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(self._buf)
            if size > _MAX_FRAME:
                raise ValueError(f"frame of {size} bytes is too large")
            if len(self._buf) < _HEADER.size + size:
                break
            body = bytes(self._buf[_HEADER.size:_HEADER.size + size])
            del self._buf[:_HEADER.size + size]
            out.append(msgpack.unpackb(body, raw=False))
        return out


# --- the agent's side ---------------------------------------------------------------------


class WarmLauncher:
    """Talks to the helper process; see the module docstring."""

    def __init__(self, launch_timeout: float = 10.0) -> None:
        self.launch_timeout = launch_timeout
        self._sock: socket.socket | None = None
        self._helper: subprocess.Popen[bytes] | None = None
        self._on_exit: ExitCallback | None = None
        self._pending: dict[int, Future[int]] = {}
        self._lock = threading.Lock()
        self._next_id = 0

    def start(self, on_exit: ExitCallback) -> None:
        self._on_exit = on_exit
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with unpinned():  # the helper and every executor it forks get all the CPUs
            try:
                self._helper = subprocess.Popen(
                    [sys.executable, "-m", "actors.agent.warm", str(theirs.fileno())],
                    pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL,
                    start_new_session=True)  # a Ctrl-C at the agent's terminal is not for it
            finally:
                theirs.close()
            self._sock = ours
            threading.Thread(target=self._read, args=(ours,), name="meseta-warm-reader",
                             daemon=True).start()

    def launch(self, spec: LaunchSpec) -> int:
        sock = self._sock
        if sock is None or spec.module is None:
            raise LaunchError("the warm launcher is not running" if sock is None
                              else "the warm launcher runs Python modules only")
        future: Future[int] = Future()
        with self._lock:
            self._next_id += 1
            request_id = self._next_id
            self._pending[request_id] = future
            try:
                sock.sendall(_pack({
                    "op": "launch", "id": request_id, "module": spec.module,
                    "args": list(spec.module_args), "env": dict(spec.env), "cwd": spec.cwd,
                    "stdout": spec.stdout, "stderr": spec.stderr,
                    "cgroups": list(spec.cgroups),
                    "run_as": None if spec.run_as is None else [
                        spec.run_as.uid, spec.run_as.gid, list(spec.run_as.groups)]}))
            except OSError as exc:
                self._pending.pop(request_id, None)
                raise LaunchError(f"the warm launcher is gone: {exc}") from exc
        try:
            return future.result(timeout=self.launch_timeout)
        except TimeoutError:
            raise LaunchError("the warm launcher did not answer in time") from None
        finally:
            with self._lock:
                self._pending.pop(request_id, None)

    def kill(self, pid: int) -> None:
        kill_tree(pid)

    def stop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        if self._helper is not None:
            try:
                self._helper.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._helper.kill()
                self._helper.wait()

    def _read(self, sock: socket.socket) -> None:
        framer = _Framer()
        try:
            while data := sock.recv(65536):
                for msg in framer.feed(data):
                    self._dispatch(msg)
        except (OSError, ValueError):
            pass
        with self._lock:
            pending, self._pending = self._pending, {}
            if self._sock is sock:
                self._sock = None  # the helper died: later launches fall back
        for future in pending.values():
            if not future.done():
                future.set_exception(LaunchError("the warm launcher exited"))

    def _dispatch(self, msg: dict[str, Any]) -> None:
        op = msg.get("op")
        if op == "exited":
            if self._on_exit is not None:
                self._on_exit(int(msg["pid"]), int(msg["status"]))
            return
        with self._lock:
            future = self._pending.get(int(msg.get("id", -1)))
        if future is None or future.done():
            return
        if op == "launched":
            future.set_result(int(msg["pid"]))
        else:
            future.set_exception(LaunchError(str(msg.get("error", "launch failed"))))


# --- the helper's side --------------------------------------------------------------------


def serve(fd: int) -> None:
    """The helper's loop: fork on requests, report exits, leave when the agent hangs up."""
    for name in PRELOAD:
        __import__(name)
    # Children never collect the preloaded objects: their pages stay shared, not copied.
    gc.collect()
    gc.freeze()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # without it orphans go to init; the agent's kill_tree still finds them
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    sock = socket.socket(fileno=fd)
    wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: set[int] = set()
    framer = _Framer()
    while True:
        try:
            ready, _, _ = select.select([sock.fileno(), wake_r], [], [])
        except InterruptedError:
            continue
        if wake_r in ready:
            while True:
                try:
                    if not os.read(wake_r, 4096):
                        break
                except BlockingIOError:
                    break
        _reap(sock, children)
        if sock.fileno() in ready:
            data = sock.recv(65536)
            if not data:
                return
            for msg in framer.feed(data):
                pid_or_error = _fork(msg, sock, (wake_r, wake_w))
                if isinstance(pid_or_error, int):
                    children.add(pid_or_error)
                    sock.sendall(_pack({"op": "launched", "id": msg["id"],
                                        "pid": pid_or_error}))
                else:
                    sock.sendall(_pack({"op": "error", "id": msg["id"],
                                        "error": pid_or_error}))


def _reap(sock: socket.socket, children: set[int]) -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        if pid in children:
            children.discard(pid)
            sock.sendall(_pack({"op": "exited", "pid": pid, "status": status}))


def _fork(msg: dict[str, Any], sock: socket.socket, fds: tuple[int, int]) -> int | str:
    try:
        out = os.open(msg["stdout"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        err = os.open(msg["stderr"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError as exc:
        return f"cannot open the sandbox files: {exc}"
    try:
        pid = os.fork()
    except OSError as exc:
        os.close(out)
        os.close(err)
        return f"fork failed: {exc}"
    if pid == 0:
        _child(msg, sock, fds, out, err)  # never returns
    os.close(out)
    os.close(err)
    return pid


def _child(msg: dict[str, Any], sock: socket.socket, fds: tuple[int, int], out: int,
           err: int) -> NoReturn:
    code = 1
    try:
        os.setsid()
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        sock.close()
        for fd in fds:
            os.close(fd)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(err, 2)
        for fd in (null, out, err):
            os.close(fd)
        for procs in msg.get("cgroups", ()):  # into the container before anything runs
            try:
                with open(procs, "w") as f:
                    f.write(str(os.getpid()))
            except OSError as exc:
                print(f"meseta: cannot join the container's cgroup {procs}: {exc}",
                      file=sys.stderr)
                raise
        who = msg.get("run_as")
        if who is not None:
            become(int(who[0]), int(who[1]), [int(g) for g in who[2]])
        os.chdir(msg["cwd"])
        env: dict[str, str] = msg["env"]
        os.environ.clear()
        os.environ.update(env)
        extra = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        sys.path[:0] = [p for p in extra if p not in sys.path]
        module: str = msg["module"]
        sys.argv = [module, *msg["args"]]
        code = _run_module(module)
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # nowhere left to say it
                pass
        os._exit(code)


def _run_module(module: str) -> int:
    import runpy
    import traceback
    import warnings

    # The preloaded module is in sys.modules already; running it as __main__ is intended.
    warnings.filterwarnings("ignore", category=RuntimeWarning, module="runpy")
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    except BaseException:
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    serve(int(sys.argv[1]))
