"""Hostile ZeroMQ frames: named attack generators, and the peers they pretend to be.

Every attack is a function ``(Wire, Target) -> list[bytes]`` registered in ``ATTACKS``
with ``@attack(name, weight, targets)``; it returns the frames (each one ZeroMQ frame,
meant for a raw PUSH socket to the target's port) of one shot. The campaign
(``scripts/benchmarks/hostile.py``) draws attacks by weight, so a new kind is one
more decorated function. Kinds: bytes that are not msgpack, valid batches truncated or
bit-flipped, envelopes of the wrong shape, real message names with bodies their schema
refuses (``type_confused``) or accepts with boundary values (``boundary``), frames
above ``max_message_size``, msgpack bombs, registration floods from many PIDs, bogus
re-registrations, invalid tasks on real and bogus offers, spoofed status updates.

Senders are PIDs of processes that do not exist: ``Wire.dead_pid()`` names 127.0.0.1
ports where nothing listens (a reply is refused) or, now and then, a tarpit (a
listening socket that never reads). None of them is a real node's address: spoofing
a real master, agent or scheduler is impersonation, which only authentication stops.
``HostileScheduler`` is the one that answers: a raw PULL socket registered as a
framework, so it gets real offers to accept with invalid tasks and hears the
TASK_ERRORs they earn.
"""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from random import Random
from typing import Any

import msgpack
import zmq

import actors.messages as m
from actors.messages import CommandInfo, ExecutorInfo, FrameworkInfo, TaskInfo, TaskState
from actors.messages.offers import launch
from actors.resources import Resources
from frameworks.hostile.values import Values
from transport.codec import encode_message, lookup, message_name, registered_messages
from transport.envelope import batch, encode_envelope, iter_envelopes
from transport.errors import CodecError

__all__ = ["ATTACKS", "Attack", "HostileScheduler", "Target", "Wire", "attack"]

Frames = list[bytes]
IDENTITIES = 200
"""Distinct fake senders per process name (see ``Wire.dead_pid``)."""


@dataclass(frozen=True)
class Target:
    """A node under attack: its role (``master``/``agent``), process name and address."""

    role: str
    process: str
    address: str
    max_message_size: int = 16 * 1024 * 1024


@dataclass(frozen=True)
class Attack:
    name: str
    weight: float
    roles: tuple[str, ...]
    make: Callable[[Wire, Target], Frames]


ATTACKS: dict[str, Attack] = {}
"""Every ZeroMQ attack by name, in declaration order."""


def attack(name: str, weight: float, roles: tuple[str, ...] = ("master", "agent")
           ) -> Callable[[Callable[[Wire, Target], Frames]], Callable[[Wire, Target], Frames]]:
    def register(fn: Callable[[Wire, Target], Frames]) -> Callable[[Wire, Target], Frames]:
        ATTACKS[name] = Attack(name, weight, roles, fn)
        return fn

    return register


# Message names each role handles (the rest still get sent now and then, as unhandled).
_MASTER_NAMES = ("RegisterFramework", "ReregisterFramework", "UnregisterFramework",
                 "DeactivateFramework", "UpdateFramework", "ResourceRequest", "AcceptOffers",
                 "LaunchTasks", "DeclineOffers", "ReviveOffers", "SuppressOffers", "KillTask",
                 "StatusUpdate", "StatusUpdateAcknowledgement", "ReconcileTasks",
                 "ExitedExecutor", "ShutdownExecutor", "FrameworkToExecutor",
                 "ExecutorToFramework", "RegisterAgent", "ReregisterAgent", "UnregisterAgent",
                 "UpdateAgent", "PongAgent", "OffersAllocated")
_AGENT_NAMES = ("AgentRegistered", "AgentReregistered", "PingAgent", "RunTask", "KillTask",
                "ShutdownExecutor", "ShutdownFramework", "Shutdown",
                "StatusUpdateAcknowledgement", "FrameworkToExecutor", "UpdateFramework",
                "ReconcileTasks", "RegisterExecutor", "ReregisterExecutor", "StatusUpdate",
                "ExecutorToFramework", "CheckpointResources", "RunTaskGroup")


class Wire:
    """What attacks share: the random source, hostile values, dead PIDs, the scheduler."""

    def __init__(self, rng: Random, dead_ports: list[int], tarpit_ports: list[int]) -> None:
        self.rng = rng
        self.dead_ports = dead_ports
        self.tarpit_ports = tarpit_ports
        self.values = Values(rng, self.dead_pid)
        self.scheduler: HostileScheduler | None = None
        self.oversized_left = 3
        """Frames above max_message_size still to send, per target (they are big)."""
        self._oversized_sent: Counter[str] = Counter()

    def dead_pid(self, name: str | None = None) -> str:
        """One of ``IDENTITIES`` senders per name: an attacker has as many as it has
        addresses, and the master keeps state per sender (one agent, one framework)."""
        index = self.rng.randrange(IDENTITIES)
        ports = self.tarpit_ports if self.tarpit_ports and index % 20 == 0 else self.dead_ports
        who = name or self.rng.choice(["scheduler", "agent", "executor", "slave", "x"])
        return f"{who}({index})@127.0.0.1:{ports[index % len(ports)]}"

    def names_for(self, target: Target) -> tuple[str, ...]:
        if self.rng.random() < 0.1:
            return tuple(registered_messages())
        return _MASTER_NAMES if target.role == "master" else _AGENT_NAMES

    def envelope(self, target: Target, name: str, body: Any, frm: str | None = None,
                 trace: Any = None) -> bytes:
        return msgpack.packb([target.process, frm or self.dead_pid(), name, body, trace])

    def message(self, target: Target, msg: Any, frm: str | None = None) -> bytes:
        return encode_envelope(target.process, frm or self.dead_pid(), msg, None)

    def plausible_envelope(self, target: Target) -> bytes:
        name = self.rng.choice(self.names_for(target))
        return self.envelope(target, name, self.values.plausible(lookup(name)))


# --- bytes and shapes -------------------------------------------------------------------


@attack("random_bytes", 10)
def _random_bytes(w: Wire, t: Target) -> Frames:
    return [w.rng.randbytes(w.rng.choice([0, 1, 2, 7, 64, 512, 4096]))]


@attack("truncated", 8)
def _truncated(w: Wire, t: Target) -> Frames:
    frame = batch([w.plausible_envelope(t) for _ in range(w.rng.randrange(1, 4))])
    return [frame[: w.rng.randrange(max(1, len(frame)))]]


@attack("mutated", 8)
def _mutated(w: Wire, t: Target) -> Frames:
    frame = bytearray(batch([w.plausible_envelope(t) for _ in range(w.rng.randrange(1, 4))]))
    for _ in range(w.rng.randrange(1, 8)):
        frame[w.rng.randrange(len(frame))] = w.rng.randrange(256)
    return [bytes(frame)]


@attack("wrong_shape", 10)
def _wrong_shape(w: Wire, t: Target) -> Frames:
    rng, v = w.rng, w.values
    env: list[Any] = [t.process, w.dead_pid(), rng.choice(w.names_for(t)), {}, None]
    kind = rng.randrange(8)
    if kind == 0:  # not a batch at all
        return [msgpack.packb(v.random_value())]
    if kind == 1:  # a field of the envelope of the wrong type
        env[rng.randrange(5)] = v.random_value()
    elif kind == 2:  # an unknown message name
        env[2] = rng.choice(["", "NoSuchMessage", "registerAgent", "RegisterAgent ",
                             "mesos.internal.RegisterSlaveMessage", "x" * 10_000])
    elif kind == 3:  # an unknown process
        env[0] = rng.choice(["", "nobody", "Master", "master ", "allocator(2)", "x" * 5_000])
    elif kind == 4:  # a bad sender
        env[1] = rng.choice(["", "master", "a@b", "x@127.0.0.1:0", "@h:1", "x@h:99999",
                             "x@:5050", "x@*:5", "x@bad host:5", "x@-:5", "x@0.0.0.0:5"])
    elif kind == 5:  # a bad trace
        env[4] = rng.choice([[1, 2, 3], [-1, 0, 0, 0], "t", [1, 2, 3, 2**64 - 1], [None] * 4])
    elif kind == 6:  # the wrong number of items
        env = env[: rng.randrange(5)] if rng.random() < 0.5 else [*env, None, 1]
    else:  # ext values (a timestamp among them) where fields go
        env[3] = {"agent_info": msgpack.ExtType(rng.randrange(128), b"xy")
                  if rng.random() < 0.5 else msgpack.Timestamp(rng.randrange(2**32), 0)}
    return [batch([msgpack.packb(env) for _ in range(rng.randrange(1, 3))])]


# --- real names, hostile bodies ---------------------------------------------------------


@attack("type_confused", 20)
def _type_confused(w: Wire, t: Target) -> Frames:
    envs = []
    for _ in range(w.rng.randrange(1, 4)):
        name = w.rng.choice(w.names_for(t))
        envs.append(w.envelope(t, name, w.values.confused(lookup(name))))
    return [batch(envs)]


@attack("boundary", 15)
def _boundary(w: Wire, t: Target) -> Frames:
    return [batch([w.plausible_envelope(t) for _ in range(w.rng.randrange(1, 4))])]


# --- size -------------------------------------------------------------------------------


@attack("oversized", 1)
def _oversized(w: Wire, t: Target) -> Frames:
    if w._oversized_sent[t.role] >= w.oversized_left:
        return []
    w._oversized_sent[t.role] += 1
    size = t.max_message_size + w.rng.choice([1, 1024, 1 << 20])
    return [b"\xdd\x00\x00\x00\x01" + b"\xc0" * size]


@attack("bombs", 5)
def _bombs(w: Wire, t: Target) -> Frames:
    rng = w.rng
    kind = rng.randrange(4)
    if kind == 0:  # huge declared lengths with nothing behind them
        return [rng.choice([b"\xdd\xff\xff\xff\xff", b"\xdf\xff\xff\xff\xff",
                            b"\x91\xdb\x7f\xff\xff\xff", b"\x91\xc6\xff\xff\xff\xff",
                            b"\x95\xa6master\xdd\xff\xff\xff\xff"])]
    if kind == 1:  # deep nesting
        depth = rng.choice([1000, 10_000, 100_000, 500_000])
        return [rng.choice([b"\x91", b"\x81\xa1a"]) * depth + b"\xc0"]
    if kind == 2:  # many tiny envelopes in one frame
        env = w.envelope(t, "PongAgent", {})
        return [batch([env] * rng.choice([1000, 20_000]))]
    # a body with one enormous list of empty maps (cheap to send, costly to decode)
    count = rng.choice([10_000, 200_000])
    info = encode_message(m.AgentInfo(id="bogus-S0", hostname="bomb"))
    body = (b"\x82" + msgpack.packb("agent_info") + msgpack.packb(info) + msgpack.packb("tasks")
            + b"\xdd" + count.to_bytes(4, "big") + b"\x80" * count)
    head = b"".join(msgpack.packb(x) for x in (t.process, w.dead_pid(), "ReregisterAgent"))
    return [b"\x91\x95" + head + body + b"\xc0"]


# --- protocol abuse -----------------------------------------------------------------------


@attack("register_flood", 8, ("master",))
def _register_flood(w: Wire, t: Target) -> Frames:
    rng = w.rng
    envs = []
    for _ in range(rng.randrange(1, 6)):
        if rng.random() < 0.5:
            frm = w.dead_pid("agent")  # mostly its retries, now and then a new agent there
            host = f"fake-{frm}" if rng.random() < 0.9 else f"fake-{rng.randrange(10**9)}"
            info = m.AgentInfo(hostname=host,
                               resources=Resources.parse(f"cpus:{rng.choice([1, 64])};mem:64"))
            envs.append(w.message(t, m.RegisterAgent(agent_info=info), frm))
        else:
            finfo = FrameworkInfo(user="nobody", name=f"fake-{rng.randrange(10**9)}",
                                  failover_timeout=rng.choice([0.0, 0.0, 1.0, 30.0]))
            envs.append(w.message(t, m.RegisterFramework(framework_info=finfo),
                                  w.dead_pid("scheduler")))
    return [batch(envs)]


@attack("reregister_bogus", 4, ("master",))
def _reregister_bogus(w: Wire, t: Target) -> Frames:
    rng, v = w.rng, w.values
    index = rng.randrange(IDENTITIES)  # ids, like senders, come from a bounded pool
    agent_id, framework_id = f"bogus-S{index}", f"bogus-{index}"
    info = m.AgentInfo(id=agent_id, hostname="bogus", resources=Resources.parse("cpus:1;mem:1"))
    body: dict[str, Any] = {
        "agent_info": encode_message(info),
        "tasks": [{"name": v.string(), "task_id": v.string(64) or "t",
                   "framework_id": framework_id, "agent_id": agent_id,
                   "state": rng.choice(list(TaskState.__members__)),
                   "resources": v.resources()} for _ in range(rng.randrange(4))],
        "frameworks": [encode_message(FrameworkInfo(id=framework_id, user="x", name="bogus"))]
        if rng.random() < 0.5 else [],
        "executor_infos": [{"executor_id": v.string(64), "framework_id": framework_id,
                            "command": {"value": "true"}}] if rng.random() < 0.3 else [],
    }
    frm = f"agent({index})@127.0.0.1:{w.dead_ports[index % len(w.dead_ports)]}"
    return [batch([w.envelope(t, "ReregisterAgent", body, frm)])]


def _invalid_task(w: Wire, agent_id: str, n: int) -> TaskInfo:
    """A TaskInfo the master must refuse (TASK_ERROR), whatever the offer holds."""
    res = Resources.parse("cpus:0.01;mem:1")
    task_id = f"bad-{n}"
    kind = w.rng.randrange(6)
    if kind == 0:  # neither command nor executor
        return TaskInfo(name="bad", task_id=task_id, agent_id=agent_id, resources=res)
    command = CommandInfo(value="true")
    if kind == 1:  # both
        executor = ExecutorInfo(executor_id="e", command=command)
        return TaskInfo(name="bad", task_id=task_id, agent_id=agent_id, resources=res,
                        command=command, executor=executor)
    if kind == 2:  # no resources
        return TaskInfo(name="bad", task_id=task_id, agent_id=agent_id, command=command)
    if kind == 3:  # a bad id
        return TaskInfo(name="bad", task_id=w.rng.choice(["", ".", "..", "a/b", "a b", "\x01"]),
                        agent_id=agent_id, resources=res, command=command)
    if kind == 4:
        return TaskInfo(name="bad", task_id=task_id, agent_id=agent_id, resources=res,
                        command=command, max_completion_time=-1.0)
    return TaskInfo(name="bad", task_id=task_id, agent_id=agent_id, command=command,
                    resources=Resources.parse("cpus:100000;mem:1"))


@attack("accept_invalid", 6, ("master",))
def _accept_invalid(w: Wire, t: Target) -> Frames:
    sched, rng = w.scheduler, w.rng
    if sched is None or not sched.framework_id:
        return []
    offers = sched.take_offers()
    frames = []
    for offer_id, agent_id in offers:  # real offers: every task refused with TASK_ERROR
        tasks = tuple(_invalid_task(w, agent_id, sched.next_task()) for _ in range(2))
        msg: Any = (m.AcceptOffers(framework_id=sched.framework_id, offer_ids=(offer_id,),
                                   operations=(launch(*tasks),)) if rng.random() < 0.5 else
                    m.LaunchTasks(framework_id=sched.framework_id, offer_ids=(offer_id,),
                                  tasks=tasks))
        frames.append(batch([w.message(t, msg, sched.pid)]))
    bogus = tuple(rng.choice(["", "nope", sched.framework_id + "-O1", "x" * 300])
                  for _ in range(rng.randrange(1, 3)))
    task = _invalid_task(w, "bogus-agent", sched.next_task())
    frames.append(batch([w.message(t, m.LaunchTasks(framework_id=sched.framework_id,
                                                    offer_ids=bogus, tasks=(task,)), sched.pid),
                         w.envelope(t, "AcceptOffers",
                                    {"framework_id": sched.framework_id, "offer_ids": list(bogus),
                                     "operations": [w.values.random_value()]}, sched.pid)]))
    return frames


@attack("status_spoof", 6)
def _status_spoof(w: Wire, t: Target) -> Frames:
    rng, v = w.rng, w.values
    status = m.TaskStatus(task_id=v.string(64) or "t", state=rng.choice(list(TaskState)),
                          message=v.string(256))
    update = m.StatusUpdateInfo(framework_id=v.string(32), status=status,
                                agent_id=rng.choice(["", "bogus-S1", v.string(32)]),
                                uuid=rng.randbytes(16), timestamp=rng.choice([0.0, -1.0, 1e18]))
    ack = m.StatusUpdateAcknowledgement(agent_id="bogus-S1", framework_id=v.string(32),
                                        task_id=status.task_id, uuid=rng.randbytes(16))
    frm = w.dead_pid(rng.choice(["executor", "agent"]))
    return [batch([w.message(t, m.StatusUpdate(update=update), frm), w.message(t, ack, frm)])]


# --- the scheduler that answers -----------------------------------------------------------


@dataclass
class HostileScheduler:
    """A raw PULL socket registered with the master as a framework (see the module doc)."""

    ctx: zmq.Context[zmq.Socket[bytes]]
    master: Target
    sock: zmq.Socket[bytes] = field(init=False)
    pid: str = ""
    framework_id: str = ""
    offers: list[tuple[str, str]] = field(default_factory=list)
    heard: Counter[str] = field(default_factory=Counter)
    """What came back, by message name, and ``TASK_ERROR`` etc. by state."""
    _tasks: int = 0

    def __post_init__(self) -> None:
        self.sock = self.ctx.socket(zmq.PULL)
        self.sock.setsockopt(zmq.LINGER, 0)
        port = self.sock.bind_to_random_port("tcp://127.0.0.1")
        self.pid = f"scheduler(hostile)@127.0.0.1:{port}"

    def register(self, push: zmq.Socket[bytes]) -> None:
        info = FrameworkInfo(user="nobody", name="hostile", failover_timeout=0.0)
        push.send(batch([encode_envelope(self.master.process, self.pid,
                                         m.RegisterFramework(framework_info=info), None)]))

    def unregister(self, push: zmq.Socket[bytes]) -> None:
        """Tear the framework down (else it would hold its last offers: no offer timeout)."""
        if self.framework_id:
            push.send(batch([encode_envelope(
                self.master.process, self.pid,
                m.UnregisterFramework(framework_id=self.framework_id), None)]))

    def next_task(self) -> int:
        self._tasks += 1
        return self._tasks

    def take_offers(self) -> list[tuple[str, str]]:
        offers, self.offers = self.offers, []
        return offers

    def poll(self) -> None:
        """Read what the master sent (non-blocking)."""
        while True:
            try:
                frame = self.sock.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            try:
                for _, _, msg, _ in iter_envelopes(frame):
                    self._heard(msg)
            except CodecError:
                self.heard["undecodable"] += 1

    def _heard(self, msg: Any) -> None:
        self.heard[message_name(msg)] += 1
        if isinstance(msg, m.FrameworkRegistered):
            self.framework_id = msg.framework_id
        elif isinstance(msg, m.ResourceOffers):
            self.offers += [(o.id, o.agent_id) for o in msg.offers]
        elif isinstance(msg, m.StatusUpdate):
            state = msg.update.status.state.name
            self.heard[state] += 1
            if msg.update.status.reason is not None:
                self.heard[msg.update.status.reason.name] += 1

    def close(self) -> None:
        self.sock.close(0)


def free_ports(count: int) -> list[int]:
    """Ports on 127.0.0.1 where nothing listens (bound, then released, by the kernel)."""
    socks = []
    for _ in range(count):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports
