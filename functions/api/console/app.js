// switchyard console: a tenant's targets as lanes and their jobs, over the public API with the
// tenant's key (kept in this tab's sessionStorage only). Plain browser JavaScript, inlined in the
// page by functions/api/console.ts; no framework, nothing loaded from elsewhere.
const ACTIONS = {
  cancel: ["pending", "queued", "running", "paused", "error"],
  interrupt: ["pending", "queued", "running"],
  resume: ["paused", "error"],
  resolve: ["paused", "error"],
};
const REFRESH_MS = 2000;
const streamBase = document.querySelector('meta[name="log-stream"]')?.getAttribute("content") || "";
const $ = (selector) => document.querySelector(selector);
let key = sessionStorage.getItem("switchyard-key") || "";
let selected = null;
let logs = null;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "onclick") node.addEventListener("click", value);
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    headers: { "x-api-key": key, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await res.json().catch(() => null);
  if (!res.ok) throw new Error(answer?.detail || `${res.status}`);
  return answer;
}

function say(message, isError = false) {
  const status = $("#status");
  status.textContent = message;
  status.className = isError ? "error" : "";
}

/** A target's lane: what runs, what waits, what blocks it, and what ended last. */
function lane(target, jobs) {
  const running = jobs.filter((j) => j.status === "running");
  const blocking = jobs.filter((j) => j.status === "paused" || j.status === "error");
  const waiting = jobs.filter((j) => j.status === "queued" || j.status === "pending").reverse();
  const ended = jobs.filter((j) => ["success", "canceled"].includes(j.status)).slice(0, 3);
  const state =
    blocking.length > 0 ? "blocked" : running.length > 0 ? "running" : waiting.length > 0 ? "waiting" : "idle";
  const column = (title, list) =>
    el("div", { class: "column" }, el("h3", {}, `${title} (${list.length})`), ...list.map(card));
  return el(
    "section",
    { class: `lane ${state}`, "data-target": target.id, "data-state": state },
    el("header", {}, el("h2", {}, target.name), el("span", { class: "badge" }, state)),
    el(
      "div",
      { class: "columns" },
      column("Running", running),
      column("Blocking", blocking),
      column("Waiting", waiting),
      column("Ended", ended),
    ),
  );
}

function card(job) {
  return el(
    "button",
    {
      class: `job ${job.status}${selected?.id === job.id ? " selected" : ""}`,
      "data-job": job.id,
      "data-status": job.status,
      onclick: () => select(job),
    },
    el("strong", {}, job.api_name),
    el("span", {}, ` ${job.status} · attempt ${job.attempt}`),
  );
}

function select(job) {
  selected = { id: job.id, targetId: job.target_id };
  follow(job);
  void refresh();
}

/** The selected job's log, followed live over the API's Server-Sent Events. */
function follow(job) {
  logs?.close();
  const list = $("#logs");
  list.replaceChildren();
  const path = `/api/targets/${job.target_id}/jobs/${job.id}/logs/stream?api_key=${encodeURIComponent(key)}`;
  logs = new EventSource(`${streamBase}${path}`);
  logs.addEventListener("log", (e) => {
    const line = JSON.parse(e.data);
    const text = typeof line.content === "string" ? line.content : JSON.stringify(line.content);
    list.append(el("li", { class: line.log_type }, `${line.timestamp.slice(11, 23)} ${line.log_type}: ${text}`));
  });
  logs.addEventListener("end", () => logs?.close());
}

async function detail(job) {
  const panel = $("#detail");
  if (!job) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  $("#detail-title").textContent = `${job.api_name} ${job.id}`;
  $("#detail-fields").textContent = JSON.stringify(
    {
      status: job.status,
      attempt: job.attempt,
      parameters: job.parameters,
      result: job.result,
      error: job.error,
      created_at: job.created_at,
      completed_at: job.completed_at,
      hatchet_run_id: job.hatchet_run_id,
    },
    null,
    2,
  );
  const buttons = Object.entries(ACTIONS)
    .filter(([, from]) => from.includes(job.status))
    .map(([action]) => el("button", { "data-action": action, onclick: () => act(job, action) }, action));
  $("#actions").replaceChildren(...buttons);
  const exchanges = await api("GET", `/api/targets/${job.target_id}/jobs/${job.id}/http_exchanges/`);
  $("#exchanges").replaceChildren(
    ...exchanges.map((x) =>
      el(
        "li",
        {},
        `${x.content.request?.method ?? ""} ${x.content.request?.url ?? ""} → ${x.content.response?.status ?? x.content.error ?? ""}`,
      ),
    ),
  );
}

async function act(job, action) {
  try {
    await api("POST", `/api/targets/${job.target_id}/jobs/${job.id}/${action}/`, action === "resolve" ? {} : undefined);
    say(`${action}: done`);
  } catch (err) {
    say(`${action}: ${err.message}`, true);
  }
  await refresh();
}

let refreshing = false;
async function refresh() {
  if (!key || refreshing) return;
  refreshing = true;
  try {
    const targets = await api("GET", "/api/targets/");
    const lanes = await Promise.all(
      targets.map(async (t) => lane(t, await api("GET", `/api/targets/${t.id}/jobs/?limit=50`))),
    );
    $("#lanes").replaceChildren(...lanes);
    const job = selected && (await api("GET", `/api/targets/${selected.targetId}/jobs/${selected.id}`));
    await detail(job);
    say(`${targets.length} targets · updated ${new Date().toLocaleTimeString()}`);
  } catch (err) {
    say(err.message, true);
  } finally {
    refreshing = false;
  }
}

$("#key-form").addEventListener("submit", (e) => {
  e.preventDefault();
  key = $("#key").value.trim();
  sessionStorage.setItem("switchyard-key", key);
  void refresh();
});
$("#key").value = key;
setInterval(() => void refresh(), REFRESH_MS);
void refresh();
