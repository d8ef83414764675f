"""``python -m frameworks.service`` (``scripts/service``): run the framework, or talk to it.

::

    python -m frameworks.service run --master=127.0.0.1:5050 --apps=apps.json \\
        [--role=ROLE] [--name=service] [--http_port=8080] [--state_dir=DIR] \\
        [--failover_timeout=1weeks] [--teardown] [--reconciliation_initial_delay=15000] \\
        [--reconciliation_interval=600000]
    python -m frameworks.service apps|scale APP N|restart APP|deploy FILE|remove APP \\
        [--url=http://127.0.0.1:8080] [--json]

``run`` registers the framework (checkpointing, ``--failover_timeout``), serves the
HTTP API on 127.0.0.1:``--http_port`` and prints one line once registered:
``service: registered <framework_id> http://127.0.0.1:<port>`` (8080 by default; when
that is taken, a free port). It runs until SIGTERM
or SIGINT; then it leaves its tasks running for a later ``run`` with the same
``--state_dir`` to adopt (``--teardown``: kill them and unregister instead). The
state dir's apps win over ``--apps``; apps of the file it does not hold are added.
``--reconciliation_initial_delay`` ms after its first reconciliation, then every
``--reconciliation_interval`` ms, it reconciles its tasks with the master again
(Marathon's flags and defaults: 15000 and 600000).
The client verbs call the API; an error exits 1 with its message. Bad flags exit 2.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

from actors.messages import FrameworkInfo
from frameworks.execute import check_master, check_role
from frameworks.scheduler_driver import DriverStatus, SchedulerDriver
from frameworks.service.http_api import ServiceHttpApi
from frameworks.service.operations import AppOperations
from frameworks.service.scheduler import ServiceScheduler, version_at
from frameworks.service.spec import AppSpec, SpecError, parse_apps
from frameworks.service.state import SavedState, StateFile
from transport.flags import Duration, Flags, port_number, positive
from transport.logs import configure

__all__ = ["load_apps", "main", "run_flags"]

DEFAULT_FAILOVER_TIMEOUT = 7 * 24 * 3600.0
DEFAULT_HTTP_PORT = 8080
"""Marathon's; when it is taken (and was not asked for by another value) a free port is used."""
CLIENT_VERBS = {"apps": 0, "scale": 2, "restart": 1, "deploy": 1, "remove": 1}



def run_flags() -> Flags:
    f = Flags("service run", "Run the service framework: keep apps' instances running.")
    f.add("master", str, "127.0.0.1:5050", "the master, host:port or zk://host:port/path",
          check_master)
    f.add("apps", str, None, "a JSON (or YAML) file of app specs: one app, a list, "
          'or {"apps": [...]}')
    f.add("role", str, "*", "role to register with", check_role)
    f.add("name", str, "service", "name the framework registers")
    f.add("http_port", int, DEFAULT_HTTP_PORT,
          "port of the HTTP API on 127.0.0.1 (0: a free one; 8080 taken: a free one too)",
          lambda p: None if p == 0 else port_number(p))
    f.add("state_dir", str, None, "where the framework id and apps are kept across restarts")
    f.add("failover_timeout", Duration, DEFAULT_FAILOVER_TIMEOUT,
          "how long the master keeps our tasks while we are gone")
    f.add("teardown", bool, False, "on SIGTERM/SIGINT kill every task and unregister")
    f.add("reconciliation_initial_delay", int, 15000,
          "ms after the first reconciliation before periodic ones begin (Marathon's)",
          positive)
    f.add("reconciliation_interval", int, 600000,
          "ms between periodic reconciliations: the known tasks explicitly, then implicitly",
          positive)
    f.add("registration_timeout", Duration, 60.0, "exit 1 if not registered by then")
    f.add("ip", str, "127.0.0.1", "IP address the framework's node listens on")
    f.add("log_level", str, "warning", "log level (to stderr)")
    return f


def load_apps(path: str) -> list[AppSpec]:
    """The apps of a JSON file (YAML when named .yaml/.yml and PyYAML is installed)."""
    text = Path(path).read_text()
    if path.endswith((".yaml", ".yml")):
        try:
            import yaml
        except ImportError as exc:
            raise SpecError(f"{path}: reading YAML needs PyYAML (pip install pyyaml)") from exc
        return parse_apps(yaml.safe_load(text))
    try:
        return parse_apps(json.loads(text))
    except ValueError as exc:
        if isinstance(exc, SpecError):
            raise
        raise SpecError(f"{path}: not JSON: {exc}") from exc


def run(argv: Sequence[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    values = run_flags().parse(argv)
    configure(values.log_level)
    state_file = StateFile(values.state_dir)
    try:
        state = state_file.load() or SavedState()
        apps = load_apps(values.apps) if values.apps else []
    except (OSError, ValueError, SpecError) as exc:
        print(f"service: error: {exc}", file=err)
        return 2
    known = {a.id for a in state.apps}
    state.apps += [replace(a, version=a.version or version_at(time.time()))
                   for a in apps if a.id not in known]
    scheduler = ServiceScheduler(
        state, state_file, role=values.role,
        reconciliation_initial_delay=values.reconciliation_initial_delay / 1000,
        reconciliation_interval=values.reconciliation_interval / 1000)
    try:
        api = ServiceHttpApi(AppOperations(scheduler), values.http_port)
    except OSError as exc:
        if values.http_port != DEFAULT_HTTP_PORT:
            print(f"service: error: --http_port {values.http_port}: {exc}", file=err)
            return 2
        api = ServiceHttpApi(AppOperations(scheduler), 0)
        print(f"service: port {DEFAULT_HTTP_PORT} is taken ({exc}); serving on "
              f"{api.url}", file=err)
    info = FrameworkInfo(user="", name=values.name, id=state.framework_id,
                         failover_timeout=values.failover_timeout, checkpoint=True,
                         roles=(values.role,), webui_url=api.url)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    driver = SchedulerDriver.create(scheduler, info, values.master, values.ip)
    api.start()
    try:
        driver.start()
        deadline = time.monotonic() + values.registration_timeout
        while not scheduler.registered_event.wait(0.2):
            if stop.is_set():
                return 0
            if time.monotonic() > deadline:
                print(f"service: error: not registered with {values.master} within "
                      f"{values.registration_timeout:g}s", file=err)
                return 1
        print(f"service: registered {scheduler.framework_id} {api.url}", file=out, flush=True)
        scheduler.run_ticker(stop)
        while not stop.wait(0.5):
            if driver.status is not DriverStatus.DRIVER_RUNNING:
                print("service: error: the driver stopped (see the log; a framework id the "
                      "master forgot needs an empty --state_dir)", file=err)
                return 1
        return 0
    finally:
        stop.set()
        driver.stop(failover=not values.teardown)
        driver.close()
        api.stop()


def client(verb: str, argv: Sequence[str], out: TextIO = sys.stdout,
           err: TextIO = sys.stderr) -> int:
    args = [a for a in argv if not a.startswith("--")]
    f = Flags(f"service {verb}", "Talk to a running service framework.")
    f.add("url", str, "http://127.0.0.1:8080", "the service framework's HTTP API")
    f.add("json", bool, False, "print the API's JSON answer")
    values = f.parse([a for a in argv if a.startswith("--")])
    if len(args) != CLIENT_VERBS[verb]:
        print(f"service {verb}: error: expected {CLIENT_VERBS[verb]} argument(s), got "
              f"{len(args)}", file=err)
        return 2
    try:
        if verb == "apps":
            answer = _call(values.url, "GET", "/v2/apps")
            if values.json:
                print(json.dumps(answer, indent=1), file=out)
            else:
                print(f"{'ID':24} {'INSTANCES':>9} {'RUNNING':>7} {'READY':>5}  VERSION",
                      file=out)
                for app in answer["apps"]:
                    print(f"{app['id']:24} {app['instances']:>9} {app['tasksRunning']:>7} "
                          f"{app['tasksReady']:>5}  {app['version']}", file=out)
            return 0
        if verb == "scale":
            if not args[1].isdigit():
                print(f"service scale: error: N must be a count, not {args[1]!r}", file=err)
                return 2
            answers = [_call(values.url, "PUT", f"/v2/apps/{args[0].strip('/')}",
                             {"instances": int(args[1])})]
        elif verb == "restart":
            answers = [_call(values.url, "POST", f"/v2/apps/{args[0].strip('/')}/restart")]
        elif verb == "remove":
            answers = [_call(values.url, "DELETE", f"/v2/apps/{args[0].strip('/')}")]
        else:
            answers = [_call(values.url, "PUT", f"/v2/apps/{app.id}", _spec_body(app))
                       for app in load_apps(args[0])]
    except (OSError, SpecError) as exc:
        print(f"service {verb}: error: {exc}", file=err)
        return 1
    for answer in answers:
        print(json.dumps(answer) if values.json else f"version {answer['version']}", file=out)
    return 0


def _spec_body(app: AppSpec) -> dict[str, Any]:
    body = app.to_json()
    body.pop("version", None)
    return body


def _call(url: str, method: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url.rstrip("/") + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.loads(reply.read() or b"null")
    except urllib.error.HTTPError as exc:
        try:
            message = json.loads(exc.read()).get("message", exc.reason)
        except (ValueError, AttributeError):
            message = exc.reason
        raise OSError(f"{method} {path}: {exc.code} {message}") from exc
    except urllib.error.URLError as exc:
        raise OSError(f"cannot reach {url}: {exc.reason}") from exc


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    verbs = ["run", *CLIENT_VERBS]
    if not args or args[0] not in verbs:
        print(f"usage: python -m frameworks.service {{{'|'.join(verbs)}}} ... "
              "(VERB --help for its flags)",
              file=sys.stderr)
        return 2
    if args[0] == "run":
        return run(args[1:])
    return client(args[0], args[1:])
