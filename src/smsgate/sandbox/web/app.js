// The sandbox's inbox page: the list follows the inbox live (server-sent events), a message
// opens as its handset shows it, and its buttons act as the network and the recipient would.
"use strict";
const PAGE = 50;
let offset = 0;
let openId = null;
let timer = null;
const $ = (id) => document.getElementById(id);

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function query() {
  const params = new URLSearchParams({ limit: PAGE, offset, order: "newest" });
  for (const name of ["q", "provider", "status"]) {
    const value = $(name).value.trim();
    if (value) params.set(name, value);
  }
  return params;
}

async function load() {
  const answer = await fetch(`/sandbox/messages?${query()}`);
  if (!answer.ok) return;
  const data = await answer.json();
  $("messages").tBodies[0].replaceChildren(...data.messages.map(row));
  $("range").textContent = data.total
    ? `${offset + 1}–${offset + data.count} of ${data.total}`
    : "no message";
  $("prev").disabled = offset === 0;
  $("next").disabled = offset + data.count >= data.total;
}

function row(m) {
  const tr = el("tr");
  tr.dataset.id = m.id;
  tr.tabIndex = 0;
  tr.setAttribute("aria-label", `${m.provider} SMS to +${m.to}, ${m.status}`);
  tr.append(
    el("td", new Date(m.received_at).toLocaleTimeString()),
    el("td", m.provider),
    el("td", m.account),
    el("td", m.sender_shown),
    el("td", `+${m.to}`),
    el("td", m.status, `status status-${m.status}`),
    el("td", m.encoding),
    el("td", m.parts),
    el("td", m.text, "text"),
  );
  tr.addEventListener("click", () => open(m.id));
  tr.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      open(m.id);
    }
  });
  return tr;
}

async function open(id) {
  openId = id;
  const answer = await fetch(`/sandbox/messages/${encodeURIComponent(id)}`);
  if (!answer.ok) return;
  show(await answer.json());
}

function show(m) {
  const pane = $("detail");
  const close = el("button", "Close", "close");
  close.type = "button";
  close.addEventListener("click", () => {
    openId = null;
    pane.hidden = true;
  });
  const phone = el("div", null, "phone");
  phone.append(el("div", m.sender_shown, "from"), el("div", m.text, "bubble"));
  if (m.flash) phone.append(el("div", "flash SMS", "flash"));
  const seg = m.segmentation;
  const breakdown = el("div", null, "breakdown");
  breakdown.append(
    el("h3", "How it travels"),
    el("p", `${seg.encoding}: ${seg.units} units in ${seg.parts} part(s)`),
  );
  if (seg.ucs2_characters.length) {
    breakdown.append(el("p", `UCS-2 because of: ${seg.ucs2_characters.map((c) => JSON.stringify(c)).join(" ")}`, "ucs2"));
  }
  const parts = el("ol", null, "parts");
  seg.texts.forEach((text, i) => parts.append(el("li", `${seg.part_units[i]} units: ${text}`)));
  breakdown.append(parts);
  const injected = el("div", null, "injected");
  if (m.faults && m.faults.length) {
    injected.append(el("h3", "Faults injected (into its call, its receipts)"));
    const list = el("ul");
    m.faults.forEach((f) => list.append(el("li", f)));
    injected.append(list);
  }
  const timeline = el("ol", null, "timeline");
  timeline.append(el("li", `${m.received_at} accepted (${m.status === "scheduled" ? "scheduled" : "sent"})`));
  for (const change of m.history) {
    const { at, ...what } = change;
    timeline.append(el("li", `${at} ${Object.entries(what).map(([k, v]) => `${k} ${v}`).join(", ")}`));
  }
  const actions = el("div", null, "actions");
  for (const action of m.actions.filter((a) => a !== "reply")) {
    const button = el("button", action[0].toUpperCase() + action.slice(1), `act act-${action}`);
    button.type = "button";
    button.addEventListener("click", () => act(m.id, action));
    actions.append(button);
  }
  if (m.actions.includes("reply")) {
    const form = el("form", null, "reply");
    const label = el("label", "Reply as +" + m.to + " ");
    const input = el("input");
    input.name = "reply";
    input.required = true;
    label.append(input);
    const send = el("button", "Send reply");
    send.type = "submit";
    form.append(label, send);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      act(m.id, "reply", { text: input.value }).then(() => { input.value = ""; });
    });
    actions.append(form);
  }
  const said = el("p", "", "said");
  said.id = "said";
  said.setAttribute("role", "status");
  pane.replaceChildren(
    close,
    el("h2", `${m.provider} SMS to +${m.to}`),
    el("p", `Status: ${m.status}${m.receipt ? ` (receipt ${m.receipt})` : ""}`, `current status-${m.status}`),
    el("p", m.tag ? `Tag: ${m.tag}` : "", "tag"),
    phone, injected, breakdown, el("h3", "Timeline"), timeline, actions, said,
  );
  pane.hidden = false;
}

async function act(id, action, body) {
  const answer = await fetch(`/sandbox/messages/${encodeURIComponent(id)}/${action}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body || {}),
  });
  const data = await answer.json();
  const said = $("said");
  if (said) said.textContent = answer.ok ? (action === "reply" ? "reply sent" : `${action}: done`) : data.error;
}

async function loadChaos() {
  const answer = await fetch("/sandbox/chaos");
  if (!answer.ok) return;
  const data = await answer.json();
  if (document.activeElement !== $("chaos-spec")) $("chaos-spec").value = data.spec;
  $("chaos-injected").replaceChildren(
    ...data.injected.slice(-20).reverse().map((i) => el("li", `${i.at} ${i.method}: ${i.faults.join("; ")}`)),
  );
}

async function setChaos(spec) {
  const answer = await fetch("/sandbox/chaos", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ spec }),
  });
  const data = await answer.json();
  $("chaos-said").textContent = answer.ok ? (data.spec ? `in force: ${data.spec}` : "no chaos") : data.error;
  loadChaos();
}

async function loadAccounts() {
  const answer = await fetch("/sandbox/accounts");
  if (!answer.ok) return;
  const data = await answer.json();
  $("accounts").tBodies[0].replaceChildren(...data.accounts.map((a) => {
    const tr = el("tr");
    const calls = Object.entries(a.calls).map(([k, v]) => `${k} ×${v}`).join(", ");
    tr.append(el("td", a.provider), el("td", a.account), el("td", a.credits ?? "—"),
      el("td", calls || "none"), el("td", a.last ?? "—"));
    return tr;
  }));
}

function refresh() {
  clearTimeout(timer);
  timer = setTimeout(() => {
    load();
    if (openId) open(openId);
    if ($("chaos-panel").open) loadChaos();
    if ($("accounts-panel").open) loadAccounts();
  }, 100);
}

const stream = new EventSource("/sandbox/stream");
stream.onopen = () => { $("live").textContent = "live"; };
stream.onerror = () => { $("live").textContent = "reconnecting…"; };
stream.onmessage = refresh;
$("search").addEventListener("input", () => { offset = 0; refresh(); });
$("search").addEventListener("submit", (event) => event.preventDefault());
$("prev").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); load(); });
$("next").addEventListener("click", () => { offset += PAGE; load(); });
$("chaos-form").addEventListener("submit", (event) => { event.preventDefault(); setChaos($("chaos-spec").value); });
$("chaos-clear").addEventListener("click", () => setChaos(""));
$("chaos-panel").addEventListener("toggle", loadChaos);
$("accounts-panel").addEventListener("toggle", loadAccounts);
load();
