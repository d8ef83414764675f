// Meseta web UI: reads the master's /master/state (and /webui/agents.json for the agents'
// HTTP addresses), renders the page named by the location hash, and refreshes every 2 s.
// A task's sandbox files are read straight from its agent (/state, /files/read), which
// answers any origin on GET; when that fails (the agent wants credentials the browser
// does not send cross-origin, or it is out of the browser's reach) they are read
// through the master's /agents/<agent_id>/files/* instead, which forwards this page's
// own credentials. No framework, no build step, nothing fetched from elsewhere.
"use strict";

const REFRESH_MS = 2000;
const TAIL_BYTES = 64 * 1024;   // how much of a file the tail shows at first
const READ_LIMIT = 16 * 4096;   // the agent's most bytes per /files/read
const RESOURCES = ["cpus", "mem", "disk"];
const TERMINAL = new Set(["TASK_FINISHED", "TASK_FAILED", "TASK_KILLED", "TASK_LOST",
  "TASK_ERROR", "TASK_DROPPED", "TASK_GONE", "TASK_GONE_BY_OPERATOR"]);

const ui = {
  state: null,        // the last /master/state
  agentUrls: {},      // agent id -> "http://host:port"
  trace: {},          // task id -> {status, events}
  sandboxes: {},      // "fid/tid" -> {directory, base, proxied} or {error}
  tails: {},          // base + path -> {offset, text, pre, error}
  timer: null,
  busy: false,
};

// --- DOM helpers --------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function link(href, text) { return h("a", {href}, text); }

function table(headers, rows, empty) {
  if (!rows.length) return h("p", {class: "muted"}, empty || "None.");
  return h("table", {},
    h("thead", {}, h("tr", {}, headers.map((x) =>
      h("th", {scope: "col", class: x.startsWith("#") ? "num" : null}, x.replace(/^#/, ""))))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) =>
      (c instanceof Node && c.tagName === "TD") ? c : h("td", {}, c))))));
}

function num(x) { return h("td", {class: "num"}, x); }

function kv(pairs) {
  return h("dl", {class: "kv"}, pairs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function stateBadge(s) { return h("span", {class: "state " + s}, s); }

function fmt(n, unit) {
  if (n === undefined || n === null) return "-";
  const v = Math.round(n * 100) / 100;
  if (unit === "mem" || unit === "disk") return v >= 1024 ? `${(v / 1024).toFixed(1)} GB` : `${v} MB`;
  return String(v);
}

function bar(used, total, unit) {
  const pct = total > 0 ? Math.min(100, (100 * used) / total) : 0;
  return h("span", {},
    h("span", {class: "bar", role: "meter", "aria-valuemin": 0, "aria-valuemax": total,
               "aria-valuenow": used, "aria-label": unit},
      h("span", {style: `width:${pct.toFixed(1)}%`})),
    h("span", {class: "barlabel"}, `${fmt(used, unit)} / ${fmt(total, unit)}`));
}

function when(ts) {
  if (!ts) return "-";
  return new Date(ts * 1000).toLocaleString();
}

function short(id) { return id && id.length > 22 ? id.slice(0, 8) + "…" + id.slice(-10) : id; }

// --- the model ----------------------------------------------------------------------

function allFrameworks(st) { return [...st.frameworks, ...(st.completed_frameworks || [])]; }

function allTasks(st) {
  const out = [];
  for (const f of allFrameworks(st)) {
    out.push(...f.tasks, ...(f.unreachable_tasks || []), ...(f.completed_tasks || []));
  }
  return out;
}

function lastTime(task) {
  const s = task.statuses || [];
  return s.length ? s[s.length - 1].timestamp : 0;
}

function clusterTotal(st) {
  const t = {cpus: 0, mem: 0, disk: 0};
  for (const a of st.agents) for (const r of RESOURCES) t[r] += a.resources[r] || 0;
  return t;
}

function dominantShare(framework, total) {
  let best = 0, which = "-";
  for (const r of RESOURCES) {
    const used = (framework.used_resources || {})[r] || 0;
    if (total[r] > 0 && used / total[r] > best) { best = used / total[r]; which = r; }
  }
  return {share: best, resource: which};
}

function findTask(st, fid, tid) {
  for (const f of allFrameworks(st)) {
    if (f.id !== fid) continue;
    for (const t of [...f.tasks, ...(f.unreachable_tasks || []), ...(f.completed_tasks || [])]) {
      if (t.id === tid) return {framework: f, task: t};
    }
  }
  return null;
}

// --- fetching -----------------------------------------------------------------------

// A path is made absolute from the origin: a page opened as http://user:secret@host/
// may not fetch a URL relative to its own (which carries the credentials).
async function getJson(url) {
  const r = await fetch(url.startsWith("/") ? location.origin + url : url, {cache: "no-store"});
  if (!r.ok) { const e = new Error(`${url}: HTTP ${r.status}`); e.status = r.status; throw e; }
  return r.json();
}

async function refresh() {
  if (ui.busy) return;  // a slow master: never pile requests up
  ui.busy = true;
  try { await refreshOnce(); } finally { ui.busy = false; }
}

async function refreshOnce() {
  try {
    const [st, agents] = await Promise.all([getJson("/master/state"),
                                            getJson("/webui/agents.json")]);
    ui.state = st;
    for (const a of agents.agents) if (a.url) ui.agentUrls[a.id] = a.url;
    showError(null);
  } catch (e) {
    showError(`Cannot read the master: ${e.message}`, e.status === 401);
  }
  if (ui.state) {
    try { await pageData(); } catch (e) { showError(e.message); }
    render();
  }
  document.getElementById("updated").textContent =
    "updated " + new Date().toLocaleTimeString();
}

// A 401: the master wants credentials; /webui/login makes the browser ask for them.
function showError(text, signIn) {
  const el = document.getElementById("error");
  el.hidden = !text;
  el.replaceChildren(text || "");
  if (signIn) el.append(" — ", link("/webui/login" + location.hash, "sign in"));
}

// Whatever the current page needs beyond /master/state: a task's sandbox and trace.
async function pageData() {
  const route = parseRoute();
  if (route.page !== "task") return;
  const found = findTask(ui.state, route.fid, route.tid);
  if (!found) return;
  // A trace is gathered from every node: once a task is over, the one read is kept.
  const known = ui.trace[route.tid];
  const settled = known && known.status !== "error" && TERMINAL.has(known.taskState);
  await Promise.all([settled ? null : loadTrace(route.tid, found.task.state),
                     loadSandbox(found.framework, found.task)]);
  const box = ui.sandboxes[`${route.fid}/${route.tid}`];
  if (box && box.directory) {
    await Promise.all(["stdout", "stderr"].map((name) => pollTail(box, name)));
  }
}

async function loadTrace(tid, taskState) {
  try {
    const data = await getJson(`/master/trace?task_id=${encodeURIComponent(tid)}`);
    // {"task_id", "messages": [...], "errors"} (a bare list of events is taken too)
    const events = Array.isArray(data) ? data : (data.messages || data.events || []);
    ui.trace[tid] = {status: "ok", events, errors: data.errors || [], taskState};
  } catch (e) {
    ui.trace[tid] = {status: e.status === 404 ? "missing" : "error", message: e.message};
  }
}

function executorHolds(executor, tid) {
  return [...(executor.tasks || []), ...(executor.queued_tasks || []),
          ...(executor.completed_tasks || [])].some((t) => t.id === tid);
}

// The sandbox through the master: the agent's virtual path of the executor's latest
// run (a command task's executor has the task's id).
function proxiedSandbox(framework, task) {
  return {base: `/agents/${enc(task.agent_id)}`, proxied: true,
          directory: `/frameworks/${framework.id}/executors/${task.executor_id || task.id}` +
                     "/runs/latest"};
}

async function loadSandbox(framework, task) {
  const key = `${framework.id}/${task.id}`;
  if (ui.sandboxes[key] && ui.sandboxes[key].directory) return;
  const agentUrl = ui.agentUrls[task.agent_id];
  if (!agentUrl) { ui.sandboxes[key] = {error: "the task's agent is not registered"}; return; }
  let agent;
  try { agent = await getJson(`${agentUrl}/state`); }
  catch (e) { ui.sandboxes[key] = proxiedSandbox(framework, task); return; }
  for (const f of [...agent.frameworks, ...(agent.completed_frameworks || [])]) {
    if (f.id !== framework.id) continue;
    for (const ex of [...f.executors, ...(f.completed_executors || [])]) {
      if (executorHolds(ex, task.id)) {
        ui.sandboxes[key] = {directory: ex.directory, base: agentUrl, proxied: false,
                             fallback: proxiedSandbox(framework, task)};
        return;
      }
    }
  }
  ui.sandboxes[key] = {error: "the agent holds no sandbox for this task (collected?)"};
}

// Read what was appended to a file since the last poll: its size first (offset=-1),
// then the bytes up to it, so the next offset is exact whatever the text decodes to.
// A direct read the agent refuses (not a missing file) moves the sandbox to the master.
async function pollTail(box, name) {
  const path = `${box.directory}/${name}`;
  const key = box.base + path;
  const tail = ui.tails[key] || (ui.tails[key] = {offset: null, text: "", pre: null});
  const q = (o, l) => `${box.base}/files/read?path=${encodeURIComponent(path)}&offset=${o}` +
    (l === undefined ? "" : `&length=${l}`);
  try {
    const size = (await getJson(q(-1))).offset;
    if (tail.offset === null) tail.offset = Math.max(0, size - TAIL_BYTES);
    if (size < tail.offset) { tail.offset = 0; tail.text = ""; }  // truncated
    while (tail.offset < size) {
      const length = Math.min(size - tail.offset, READ_LIMIT);
      const got = await getJson(q(tail.offset, length));
      tail.text += got.data;
      tail.offset += length;
    }
    if (tail.text.length > 4 * TAIL_BYTES) tail.text = tail.text.slice(-TAIL_BYTES);
    tail.error = null;
  } catch (e) {
    tail.error = e.status === 404 ? "no such file (yet)" : e.message;
    if (e.status !== 404 && box.fallback) Object.assign(box, box.fallback, {fallback: null});
  }
  return tail;
}

// --- routing ------------------------------------------------------------------------

function parseRoute() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean)
    .map(decodeURIComponent);
  if (parts[0] === "frameworks" && parts[1]) return {page: "framework", id: parts[1]};
  if (parts[0] === "frameworks") return {page: "frameworks"};
  if (parts[0] === "agents" && parts[1]) return {page: "agent", id: parts[1]};
  if (parts[0] === "agents") return {page: "agents"};
  if (parts[0] === "tasks" && parts[2]) return {page: "task", fid: parts[1], tid: parts[2]};
  return {page: "overview"};
}

const enc = encodeURIComponent;
const frameworkHref = (id) => `#/frameworks/${enc(id)}`;
const agentHref = (id) => `#/agents/${enc(id)}`;
const taskHref = (t) => `#/tasks/${enc(t.framework_id)}/${enc(t.id)}`;

// --- pages --------------------------------------------------------------------------

function render() {
  const st = ui.state;
  renderLeader(st);
  document.getElementById("master").textContent = `master ${st.hostname || ""} · ${st.version || ""}`;
  const route = parseRoute();
  const pages = {overview, frameworks: frameworksPage, framework: frameworkPage,
                 agents: agentsPage, agent: agentPage, task: taskPage};
  const main = document.getElementById("main");
  main.replaceChildren(...[pages[route.page](st, route)].flat(Infinity));
}

function renderLeader(st) {
  const el = document.getElementById("leader");
  if (st.elected) { el.hidden = true; return; }
  el.hidden = false;
  const info = st.leader_info;
  if (info && info.hostname !== undefined) {
    const url = `http://${info.hostname || info.ip}:${info.port}/`;
    el.replaceChildren("This master is not the leader; the leader is ",
                       h("code", {}, info.pid), " — ", link(url, url));
  } else {
    el.replaceChildren("This master is not the leader and no leader is known yet.");
  }
}

function agentsTable(st, agents) {
  return table(["Agent", "Hostname", "CPUs", "Memory", "Disk", "#Tasks", "Active"],
    agents.map((a) => {
      const tasks = st.frameworks.reduce((n, f) =>
        n + f.tasks.filter((t) => t.agent_id === a.id).length, 0);
      return [link(agentHref(a.id), short(a.id)), a.hostname,
              ...RESOURCES.map((r) => bar(a.used_resources[r] || 0, a.resources[r] || 0, r)),
              num(tasks), a.active ? "yes" : "no"];
    }), "No agents registered.");
}

function frameworksTable(st, frameworks) {
  const total = clusterTotal(st);
  return table(["Framework", "Name", "Role", "#Tasks", "CPUs", "Memory", "#Dominant share", "Active"],
    frameworks.map((f) => {
      const d = dominantShare(f, total);
      return [link(frameworkHref(f.id), short(f.id)), f.name, f.role, num(f.tasks.length),
              fmt(f.used_resources.cpus, "cpus"), fmt(f.used_resources.mem, "mem"),
              num(`${(100 * d.share).toFixed(1)}% (${d.resource})`),
              f.active ? "yes" : "no"];
    }), "No frameworks.");
}

function tasksTable(tasks, empty) {
  return table(["Task", "Name", "State", "Framework", "Agent", "Updated"],
    tasks.map((t) => [link(taskHref(t), t.id), t.name, stateBadge(t.state),
                      link(frameworkHref(t.framework_id), short(t.framework_id)),
                      link(agentHref(t.agent_id), short(t.agent_id)), when(lastTime(t))]),
    empty);
}

function overview(st) {
  const tasks = allTasks(st);
  const counts = {};
  for (const t of tasks) counts[t.state] = (counts[t.state] || 0) + 1;
  const live = tasks.filter((t) => !TERMINAL.has(t.state));
  const recent = tasks.filter((t) => TERMINAL.has(t.state))
    .sort((a, b) => lastTime(b) - lastTime(a)).slice(0, 15);
  const total = clusterTotal(st);
  return [
    h("h1", {}, "Cluster"),
    kv([["Master", h("code", {}, st.pid)], ["Elected", st.elected ? `yes, ${when(st.elected_time)}` : "no"],
        ["Agents", `${st.activated_agents} active, ${st.deactivated_agents} inactive, ` +
                   `${st.unreachable_agents} unreachable`],
        ["Resources", `${fmt(total.cpus, "cpus")} CPUs, ${fmt(total.mem, "mem")} memory, ` +
                      `${fmt(total.disk, "disk")} disk`]]),
    h("h2", {}, "Tasks by state"),
    Object.keys(counts).length
      ? h("p", {class: "counts"}, Object.entries(counts).sort()
          .map(([s, n]) => h("span", {}, stateBadge(s), ` ${n}`)))
      : h("p", {class: "muted"}, "No tasks."),
    h("h2", {}, "Agents"), agentsTable(st, st.agents),
    h("h2", {}, "Frameworks"), frameworksTable(st, st.frameworks),
    h("h2", {}, "Active tasks"), tasksTable(live, "No active tasks."),
    h("h2", {}, "Recent terminal tasks"), tasksTable(recent, "None yet."),
  ];
}

function frameworksPage(st) {
  return [h("h1", {}, "Frameworks"), frameworksTable(st, st.frameworks),
          h("h2", {}, "Completed frameworks"),
          frameworksTable(st, st.completed_frameworks || [])];
}

function frameworkPage(st, route) {
  const f = allFrameworks(st).find((x) => x.id === route.id);
  if (!f) return [h("h1", {}, "Framework"), h("p", {}, `No framework ${route.id}.`)];
  const d = dominantShare(f, clusterTotal(st));
  return [
    h("h1", {}, `Framework ${f.name}`),
    kv([["ID", h("code", {}, f.id)], ["PID", h("code", {}, f.pid || "none (HTTP API)")], ["User", f.user],
        ["Roles", (f.roles || []).join(", ") || f.role], ["Principal", f.principal || "-"],
        ["Active", f.active ? "yes" : "no"], ["Connected", f.connected ? "yes" : "no"],
        ["Registered", when(f.registered_time)], ["Checkpoint", f.checkpoint ? "yes" : "no"],
        ["Failover timeout", `${f.failover_timeout} s`],
        ["Used", RESOURCES.map((r) => `${r} ${fmt(f.used_resources[r], r)}`).join(", ")],
        ["Offered", RESOURCES.map((r) => `${r} ${fmt(f.offered_resources[r], r)}`).join(", ")],
        ["Dominant share", `${(100 * d.share).toFixed(1)}% (${d.resource})`],
        ["Web UI", f.webui_url ? link(f.webui_url, f.webui_url) : "-"]]),
    h("h2", {}, "Tasks"), tasksTable([...f.tasks, ...(f.unreachable_tasks || [])], "No live tasks."),
    h("h2", {}, "Completed tasks"),
    tasksTable([...(f.completed_tasks || [])].sort((a, b) => lastTime(b) - lastTime(a)), "None."),
  ];
}

function agentsPage(st) { return [h("h1", {}, "Agents"), agentsTable(st, st.agents)]; }

function agentPage(st, route) {
  const a = st.agents.find((x) => x.id === route.id);
  if (!a) return [h("h1", {}, "Agent"), h("p", {}, `No registered agent ${route.id}.`)];
  const tasks = allTasks(st).filter((t) => t.agent_id === a.id);
  const url = ui.agentUrls[a.id];
  return [
    h("h1", {}, `Agent ${a.hostname}`),
    kv([["ID", h("code", {}, a.id)], ["PID", h("code", {}, a.pid)],
        ["HTTP", url ? link(`${url}/state`, `${url}/state`) : "-"],
        ["Registered", when(a.registered_time)], ["Version", a.version || "-"],
        ["Active", a.active ? "yes" : "no"], ["Connected", a.connected ? "yes" : "no"],
        ...RESOURCES.map((r) => [r, bar(a.used_resources[r] || 0, a.resources[r] || 0, r)]),
        ["Attributes", Object.entries(a.attributes || {}).map(([k, v]) => `${k}:${v}`).join("; ") || "-"]]),
    h("h2", {}, "Tasks"), tasksTable(tasks.filter((t) => !TERMINAL.has(t.state)), "No live tasks."),
    h("h2", {}, "Terminal tasks"),
    tasksTable(tasks.filter((t) => TERMINAL.has(t.state))
      .sort((x, y) => lastTime(y) - lastTime(x)), "None."),
  ];
}

function taskPage(st, route) {
  const found = findTask(st, route.fid, route.tid);
  if (!found) return [h("h1", {}, "Task"), h("p", {}, `No task ${route.tid} of framework ${route.fid}.`)];
  const t = found.task;
  return [
    h("h1", {}, `Task ${t.id}`),
    kv([["Name", t.name], ["State", stateBadge(t.state)],
        ["Framework", link(frameworkHref(t.framework_id), `${found.framework.name} (${t.framework_id})`)],
        ["Agent", link(agentHref(t.agent_id), t.agent_id)], ["Executor", t.executor_id || "(command)"],
        ["User", t.user || "-"], ["Role", t.role || "-"],
        ["Resources", RESOURCES.map((r) => `${r} ${fmt(t.resources[r], r)}`).join(", ")]]),
    h("h2", {}, "Status updates"),
    table(["Time", "State", "Source", "Reason", "Message"],
      (t.statuses || []).map((s) => [when(s.timestamp), stateBadge(s.state), s.source || "-",
                                     s.reason || "-", s.message || ""])),
    sandboxSection(found.framework, t),
    traceSection(t),
  ];
}

function sandboxSection(framework, task) {
  const out = [h("h2", {}, "Sandbox")];
  const box = ui.sandboxes[`${framework.id}/${task.id}`];
  if (!box) return [...out, h("p", {class: "muted"}, "Looking for the sandbox…")];
  if (box.error) return [...out, h("p", {class: "muted"}, box.error)];
  const browse = `${box.base}/files/browse?path=${enc(box.directory)}`;
  out.push(kv([["Directory", h("code", {}, box.directory)],
               ["Files", link(browse, "browse (JSON)")],
               ["Read", box.proxied ? "through the master" : "from the agent"]]));
  for (const name of ["stdout", "stderr"]) {
    const path = `${box.directory}/${name}`;
    const tail = ui.tails[box.base + path];
    const download = `${box.base}/files/download?path=${enc(path)}`;
    out.push(h("h3", {}, name, " ", h("small", {}, link(download, "download"))));
    if (!tail) { out.push(h("p", {class: "muted"}, "…")); continue; }
    if (!tail.pre) tail.pre = h("pre", {class: "tail", id: `tail-${name}`, tabindex: 0,
                                        "aria-label": `${name} of ${task.id}`});
    const atEnd = tail.pre.scrollTop + tail.pre.clientHeight >= tail.pre.scrollHeight - 4;
    if (tail.pre.textContent !== tail.text) {
      tail.pre.textContent = tail.text || "(empty)";
      if (atEnd) requestAnimationFrame(() => { tail.pre.scrollTop = tail.pre.scrollHeight; });
    }
    out.push(tail.pre);
    if (tail.error) out.push(h("p", {class: "muted"}, tail.error));
  }
  return out;
}

// A traced message's time: when it was sent, else received (seconds since the epoch).
function traceTime(e) {
  for (const k of ["sent", "received", "time", "ts"]) if (typeof e[k] === "number") return e[k];
  return null;
}

function traceSection(task) {
  const out = [h("h2", {}, "Message trace")];
  const tr = ui.trace[task.id];
  if (!tr) return [...out, h("p", {class: "muted"}, "…")];
  if (tr.status === "missing") return [...out, h("p", {class: "muted", id: "trace-none"}, "tracing not available")];
  if (tr.status === "error") return [...out, h("p", {class: "muted"}, `trace: ${tr.message}`)];
  for (const e of tr.errors) out.push(h("p", {class: "muted"}, `trace: ${e}`));
  if (!tr.events.length) {
    return [...out, h("p", {class: "muted", id: "trace-empty"},
                      "No traced messages for this task (nodes started with --trace record them).")];
  }
  // The master sends them in causal order; the offsets are from the earliest.
  const times = tr.events.map(traceTime).filter((t) => t !== null);
  const t0 = times.length ? Math.min(...times) : 0;
  const ms = (t) => (t === null ? "" : `+${Math.round((t - t0) * 1000)}`);
  return [...out, table(["#+Δms", "From", "", "To", "Message", "State", "#Latency ms"],
    tr.events.map((e) => {
      const sent = typeof e.sent === "number" ? e.sent : null;
      const got = typeof e.received === "number" ? e.received : null;
      return [num(ms(traceTime(e))), h("code", {}, e.frm || e.from || "-"), "→",
              h("code", {}, e.to || "-"), e.name || "-", e.state ? stateBadge(e.state) : "",
              num(sent !== null && got !== null ? ((got - sent) * 1000).toFixed(2) : "")];
    }), "")];
}

// --- start --------------------------------------------------------------------------

function schedule() {
  clearInterval(ui.timer);
  ui.timer = document.getElementById("auto").checked ? setInterval(refresh, REFRESH_MS) : null;
}

window.addEventListener("hashchange", () => {
  ui.trace = {};  // a page visited again reads its trace afresh
  if (ui.state) render();
  refresh();
});
document.getElementById("auto").addEventListener("change", schedule);
refresh();
schedule();
