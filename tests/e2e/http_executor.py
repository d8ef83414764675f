"""An executor written for Mesos' v1 executor HTTP API, with nothing of Meseta in it.

The agent starts it as ``python3 http_executor.py``; it reads the environment Mesos
gives executors (``MESOS_AGENT_ENDPOINT``, ``MESOS_FRAMEWORK_ID``, ``MESOS_EXECUTOR_ID``,
``MESOS_SANDBOX``, ``MESOS_CHECKPOINT``, ``MESOS_RECOVERY_TIMEOUT``...), SUBSCRIBEs, and
reads the RecordIO event stream. Given ``MESOS_EXECUTOR_AUTHENTICATION_TOKEN`` it sends
it on every call (``Authorization: Bearer``), as Mesos' executor library does. Every
event and every answer it gets is appended to ``$MESOS_SANDBOX/journal`` (one JSON
object a line) for the test to read.

What it does, by event:

- LAUNCH (each task of a LAUNCH_GROUP alike): UPDATE TASK_RUNNING, then a MESSAGE
  ``hello from <task>`` to the scheduler; a task whose ``data`` is ``finish`` then
  sends TASK_FINISHED; any other keeps running
  until KILL (-> TASK_KILLED) or until a file ``finish-<task id>`` appears in the
  sandbox (-> TASK_FINISHED, kept and re-sent in the next SUBSCRIBE if the agent is down);
- ACKNOWLEDGED: the update is forgotten; MESSAGE: answered with ``echo: <data>``;
- SHUTDOWN: live tasks get TASK_KILLED, then the process exits 0.

When the stream drops: with ``MESOS_CHECKPOINT=1`` it SUBSCRIBEs again (backoff up to
``MESOS_SUBSCRIPTION_BACKOFF_MAX``) with its unacknowledged tasks and updates, for at
most ``MESOS_RECOVERY_TIMEOUT``; otherwise it exits. With ``PROBE=1`` it first sends
calls the agent must refuse and journals the status codes.
"""

import base64
import http.client
import json
import os
import re
import sys
import threading
import time

ENV = os.environ
HOST, _, PORT = ENV["MESOS_AGENT_ENDPOINT"].rpartition(":")
FRAMEWORK_ID = {"value": ENV["MESOS_FRAMEWORK_ID"]}
EXECUTOR_ID = {"value": ENV["MESOS_EXECUTOR_ID"]}
SANDBOX = ENV["MESOS_SANDBOX"]
CHECKPOINT = ENV.get("MESOS_CHECKPOINT") == "1"
PATH = "/api/v1/executor"
TOKEN = ENV.get("MESOS_EXECUTOR_AUTHENTICATION_TOKEN")
AUTH = {"Authorization": f"Bearer {TOKEN}"} if TOKEN else {}
UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "secs": 1.0, "mins": 60.0, "hrs": 3600.0,
         "days": 86400.0, "weeks": 604800.0}

lock = threading.Lock()
tasks = {}  # task id -> TaskInfo JSON, until a terminal update is acknowledged
live = set()  # task ids not yet terminal
unacked = {}  # uuid (base64) -> status JSON


def duration(text, default):
    match = re.fullmatch(r"([0-9.]+)([a-z]+)", text or "")
    return float(match.group(1)) * UNITS[match.group(2)] if match else default


def journal(**entry):
    with lock, open(os.path.join(SANDBOX, "journal"), "a") as out:
        out.write(json.dumps(entry) + "\n")


def post(call, content_type="application/json", method="POST"):
    """One call on its own connection; (status, body)."""
    conn = http.client.HTTPConnection(HOST, int(PORT), timeout=30)
    try:
        body = call if isinstance(call, bytes) else json.dumps(call).encode()
        conn.request(method, PATH, body, {"Content-Type": content_type, **AUTH})
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()


def call(kind, **fields):
    return {"framework_id": FRAMEWORK_ID, "executor_id": EXECUTOR_ID, "type": kind, **fields}


def update(task_id, state):
    uuid = base64.b64encode(os.urandom(16)).decode()
    status = {"task_id": {"value": task_id}, "state": state, "source": "SOURCE_EXECUTOR",
              "executor_id": EXECUTOR_ID, "uuid": uuid, "timestamp": time.time()}
    with lock:
        unacked[uuid] = status
        if state not in ("TASK_RUNNING", "TASK_STARTING"):
            live.discard(task_id)
    try:
        code, _ = post(call("UPDATE", update={"status": status}))
    except OSError as exc:  # the agent is down: re-sent with the next SUBSCRIBE
        code = str(exc)
    journal(sent="UPDATE", task_id=task_id, state=state, uuid=uuid, status=code)


def message(text):
    data = base64.b64encode(text.encode()).decode()
    code, _ = post(call("MESSAGE", message={"data": data}))
    journal(sent="MESSAGE", text=text, status=code)


def probe():
    """Calls the agent must refuse, before this executor subscribed."""
    status = {"task_id": {"value": "none"}, "state": "TASK_RUNNING", "source": "SOURCE_EXECUTOR",
              "uuid": base64.b64encode(os.urandom(16)).decode()}
    checks = {
        "malformed": post(b"{not json"),
        "no_type": post(call("SUBSCRIBE") | {"type": None}),
        "update_before_subscribe": post(call("UPDATE", update={"status": status})),
        "protobuf": post(b"\x08\x01", "application/x-protobuf"),
        "get": post(b"", method="GET"),
        "unknown_executor": post(call("MESSAGE", message={"data": ""})
                                 | {"executor_id": {"value": "nobody"}}),
    }
    journal(probe={name: code for name, (code, _) in checks.items()},
            bodies={name: body for name, (_, body) in checks.items()})


def launch(task):
    task_id = task["task_id"]["value"]
    with lock:
        tasks[task_id] = task
        live.add(task_id)
    update(task_id, "TASK_RUNNING")
    message(f"hello from {task_id}")
    if base64.b64decode(task.get("data", "")) == b"finish":
        update(task_id, "TASK_FINISHED")


def handle(event):
    kind = event["type"]
    if kind == "LAUNCH":
        launch(event["launch"]["task"])
    elif kind == "LAUNCH_GROUP":
        for task in event["launch_group"]["task_group"]["tasks"]:
            launch(task)
    elif kind == "KILL":
        update(event["kill"]["task_id"]["value"], "TASK_KILLED")
    elif kind == "ACKNOWLEDGED":
        ack = event["acknowledged"]
        with lock:
            status = unacked.pop(ack["uuid"], None)
            if status is not None and status["state"] not in ("TASK_RUNNING", "TASK_STARTING"):
                tasks.pop(ack["task_id"]["value"], None)
    elif kind == "MESSAGE":
        message("echo: " + base64.b64decode(event["message"]["data"]).decode())
    elif kind == "SHUTDOWN":
        with lock:
            victims = sorted(live)
        for task_id in victims:
            update(task_id, "TASK_KILLED")
        journal(exiting="shutdown")
        os._exit(0)


def subscribe():
    """SUBSCRIBE and read events until the stream ends."""
    with lock:
        body = {"unacknowledged_tasks": list(tasks.values()),
                "unacknowledged_updates": [{"status": s} for s in unacked.values()]}
    conn = http.client.HTTPConnection(HOST, int(PORT), timeout=3600)
    conn.request("POST", PATH, json.dumps(call("SUBSCRIBE", subscribe=body)).encode(),
                 {"Content-Type": "application/json", "Accept": "application/json", **AUTH})
    resp = conn.getresponse()
    journal(subscribe=resp.status, content_type=resp.getheader("Content-Type"),
            unacknowledged_tasks=len(body["unacknowledged_tasks"]),
            unacknowledged_updates=len(body["unacknowledged_updates"]))
    if resp.status != 200:
        journal(refused=resp.read().decode(errors="replace"))
        return
    while True:
        line = resp.readline()
        if not line:
            break
        event = json.loads(resp.read(int(line)))
        journal(event=event["type"], body=event)
        handle(event)
    conn.close()


def watch_finish_files():
    while True:
        for task_id in sorted(live):
            if os.path.exists(os.path.join(SANDBOX, f"finish-{task_id}")):
                update(task_id, "TASK_FINISHED")
        time.sleep(0.05)


def main():
    journal(env={k: v for k, v in ENV.items() if k.startswith("MESOS_")})
    if ENV.get("PROBE") == "1":
        probe()
    threading.Thread(target=watch_finish_files, daemon=True).start()
    recovery = duration(ENV.get("MESOS_RECOVERY_TIMEOUT"), 900.0)
    backoff_max = duration(ENV.get("MESOS_SUBSCRIPTION_BACKOFF_MAX"), 2.0)
    while True:
        try:
            subscribe()
        except (OSError, http.client.HTTPException) as exc:
            journal(stream_error=repr(exc))
        if not CHECKPOINT:
            journal(exiting="disconnected")
            return 0
        journal(disconnected=time.time())
        deadline, backoff = time.monotonic() + recovery, 0.05
        while True:  # until the agent answers again
            if time.monotonic() > deadline:
                journal(exiting="recovery timeout")
                return 1
            time.sleep(backoff)
            backoff = min(backoff * 2, backoff_max)
            try:
                conn = http.client.HTTPConnection(HOST, int(PORT), timeout=5)
                conn.connect()
                conn.close()
                break
            except OSError:
                continue


if __name__ == "__main__":
    sys.exit(main())
