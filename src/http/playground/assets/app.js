// The playground page: the mini program's side calls /playground/api/call
// (a real Dispatcher in the binary), whose answer streams each message as
// it crosses, and the host's consent prompt and settings view as dialogs
// whose answers go to /playground/api/answer; the developer server's side
// calls the binary's real routes with fetch(). Every message is drawn in
// the diagram, secrets masked as examples/login_walkthrough.rs masks them.
"use strict";

const PARTIES = ["mini_program", "host", "superapp_server", "platform", "developer_server"];
// The wx APIs the page offers buttons for, in this order.
const WX_APIS = ["login", "checkSession", "getPhoneNumber", "getEmail", "chooseAvatar", "getNickName", "getUserInfo"];
// The consent APIs (the dispatcher answers them from its consent store).
const CONSENT_APIS = ["authorize", "getSetting", "openSetting"];
// The most messages the diagram keeps: the oldest go first.
const MAX_DRAWN = 300;
const SECRET_FIELDS = ["code", "js_code", "authCode", "session_key", "access_token", "secret", "signature",
  "phoneNumber", "purePhoneNumber", "email"];

let setup = null;
// What the developer server holds (whole: it really receives these).
const held = { code: null, openid: null, sessionKey: null, accessToken: null, phoneCode: null, emailCode: null };

const $ = (id) => document.getElementById(id);

function masked(secret) {
  const chars = Array.from(String(secret));
  const n = chars.length;
  if (n <= 8) return "*".repeat(n);
  return chars.slice(0, 4).join("") + "******" + chars.slice(n - 2).join("") + ` (${n} chars)`;
}

function maskedJson(value) {
  if (Array.isArray(value)) return value.map(maskedJson);
  if (value && typeof value === "object") {
    const out = {};
    for (const [key, v] of Object.entries(value)) {
      out[key] = typeof v === "string" && SECRET_FIELDS.includes(key) ? masked(v) : maskedJson(v);
    }
    return out;
  }
  return value;
}

function showError(text) {
  $("error-text").textContent = text;
  $("error-dialog").showModal();
}

// One arrow: a row of the diagram, from one lane to another.
function draw(message) {
  const from = PARTIES.indexOf(message.from);
  const to = PARTIES.indexOf(message.to);
  const li = document.createElement("li");
  li.className = "msg " + (to >= from ? "right" : "left") + (message.status === "request" ? " request" : " answer") +
    (message.error ? " error" : "") + (from === to ? " self" : "") + (message.status === "state" ? " state" : "");
  li.dataset.from = message.from;
  li.dataset.to = message.to;
  li.dataset.label = message.label;
  li.dataset.status = message.status;
  const x = (i) => 10 + 20 * i;
  const arrow = document.createElement("div");
  arrow.className = "arrow";
  arrow.style.left = Math.min(x(from), x(to)) + "%";
  arrow.style.width = Math.abs(x(to) - x(from)) + "%";
  const label = document.createElement("div");
  label.className = "label";
  // A label over the right half ends at its arrow's right end, so that
  // none runs past the developer server's lane.
  const middle = (x(from) + x(to)) / 2;
  if (middle > 50) {
    label.style.right = 100 - Math.max(x(from), x(to)) + "%";
    label.classList.add("end");
  } else {
    label.style.left = middle + "%";
  }
  label.textContent = message.label;
  const status = document.createElement("span");
  status.className = "status";
  status.textContent = message.status;
  label.appendChild(status);
  const json = document.createElement("pre");
  json.className = "json";
  json.textContent = JSON.stringify(message.body, null, 2);
  li.append(arrow, label, json);
  li.addEventListener("click", () => li.classList.toggle("open"));
  const list = $("messages");
  list.appendChild(li);
  while (list.children.length > MAX_DRAWN) list.removeChild(list.firstChild);
  li.scrollIntoView({ block: "nearest" });
}

async function postJson(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(answer.error || `HTTP ${response.status}`);
  return answer;
}

function choice() {
  const version = (id) => $(id).value || null;
  return {
    appid: $("app").value,
    user: $("user").value,
    app_json: version("app-json"),
    hook: version("hook"),
    default: $("default").value,
  };
}

function currentApp() {
  return setup.apps.find((a) => a.appid === $("app").value);
}

async function explain() {
  try {
    const answer = await postJson("/playground/api/explain", choice());
    $("explain").textContent = answer.explanations
      .filter((e) => WX_APIS.includes(e.api))
      .map((e) => e.line)
      .join("\n");
  } catch (e) {
    showError(String(e.message));
  }
}

// The events of a call's answer stream (application/x-ndjson), one a line.
async function* events(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 1);
      if (line) yield JSON.parse(line);
    }
  }
}

// The person's answer to the host's question `id`.
async function answer(id, body) {
  try {
    await postJson("/playground/api/answer", { id, ...body });
  } catch (e) {
    showError(String(e.message));
  }
}

// The host's consent prompt, as a dialog: Allow, Deny, or dismissed (Esc: cancel).
function askConsent(question) {
  const dialog = $("consent-dialog");
  dialog.dataset.id = question.id;
  $("consent-title").textContent = question.title;
  $("consent-description").textContent = question.description;
  $("consent-scope").textContent = question.scope;
  dialog.returnValue = "";
  dialog.showModal();
}

// The host's settings view: a switch per scope the mini program asked for.
function showSettings(question) {
  const dialog = $("settings-dialog");
  dialog.dataset.id = question.id;
  const list = $("settings-list");
  list.replaceChildren();
  for (const row of question.settings) {
    const label = document.createElement("label");
    label.className = "setting";
    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = row.granted;
    box.dataset.scope = row.scope;
    box.dataset.was = String(row.granted);
    label.append(box, ` ${row.title} (${row.scope})`);
    list.appendChild(label);
  }
  if (!question.settings.length) list.textContent = "The mini program has asked for no scope yet.";
  dialog.showModal();
}

// A dialog whose call ended (answered, or timed out) closes without answering.
function closeQuestions() {
  for (const id of ["consent-dialog", "settings-dialog"]) {
    const dialog = $(id);
    dialog.dataset.id = "";
    if (dialog.open) dialog.close();
  }
}

// A wx call through the binary's Dispatcher, drawn as its messages cross.
async function callWx(api, params = {}) {
  let response;
  try {
    response = await fetch("/playground/api/call", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ ...choice(), api, params }),
    });
  } catch (e) {
    showError(String(e.message));
    return;
  }
  if (!response.ok) {
    const refused = await response.json().catch(() => ({}));
    showError(refused.error || `HTTP ${response.status}`);
    return;
  }
  let done = null;
  try {
    for await (const event of events(response)) {
      if (event.event === "message") draw(event);
      else if (event.event === "prompt") askConsent(event);
      else if (event.event === "settings") showSettings(event);
      else if (event.event === "done") done = event;
    }
  } catch (e) {
    showError(`the call's stream broke: ${e.message}`);
  }
  closeQuestions();
  if (!done) return;
  $("reply").textContent = JSON.stringify(done.reply, null, 2);
  const code = done.reply.code;
  if (typeof code === "string") {
    if (api === "login") held.code = code;
    if (api === "getPhoneNumber") held.phoneCode = code;
    if (api === "getEmail") held.emailCode = code;
  }
  showHeld();
}

function showHeld(answerText, error) {
  const show = (id, value) => { $(id).textContent = value ? masked(value) : "-"; };
  show("held-code", held.code);
  $("held-openid").textContent = held.openid || "-";
  show("held-session-key", held.sessionKey);
  show("held-access-token", held.accessToken);
  show("held-phone-code", held.phoneCode);
  show("held-email-code", held.emailCode);
  if (answerText !== undefined) {
    $("held-answer").textContent = answerText;
    $("held-answer").classList.toggle("error", Boolean(error));
  }
}

// The mini program hands a code to its developer server (wx.request).
function handOver(what, code) {
  draw({ from: "mini_program", to: "developer_server", label: `wx.request (${what})`, status: "request",
    error: false, body: maskedJson({ code }) });
}

// One request of the developer server to the platform's real route.
async function platformCall(method, path, query, body) {
  const url = path + "?" + new URLSearchParams(query).toString();
  const label = `${method} ${path}`;
  const shown = { ...query };
  if (body) Object.assign(shown, body);
  draw({ from: "developer_server", to: "platform", label, status: "request", error: false, body: maskedJson(shown) });
  const init = body
    ? { method, headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }
    : { method };
  let answer;
  try {
    const response = await fetch(url, init);
    answer = await response.json();
  } catch (e) {
    answer = { errcode: -1, errmsg: String(e.message) };
  }
  const failed = answer.errcode !== 0 && answer.errcode !== undefined;
  const status = failed ? `${answer.errcode} ${answer.errmsg}` : "ok";
  draw({ from: "platform", to: "developer_server", label, status, error: failed, body: maskedJson(answer) });
  showHeld(`${path.split("/").pop()}: ${status}`, failed);
  return failed ? null : answer;
}

function need(value, what) {
  if (!value) showError(`${what} first`);
  return Boolean(value);
}

async function jscode2session() {
  if (!need(held.code, "call wx.login")) return;
  const app = currentApp();
  handOver("login code", held.code);
  const answer = await platformCall("GET", "/openserver/sns/jscode2session",
    { appid: app.appid, secret: app.secret, js_code: held.code, grant_type: "authorization_code" });
  if (answer) {
    held.openid = answer.openid;
    held.sessionKey = answer.session_key;
    showHeld();
  }
}

async function token() {
  const app = currentApp();
  const answer = await platformCall("GET", "/openserver/cgi-bin/token",
    { grant_type: "client_credential", appid: app.appid, secret: app.secret });
  if (answer) {
    held.accessToken = answer.access_token;
    showHeld();
  }
  return Boolean(answer);
}

// hex(HMAC-SHA256(key = session_key, message = "")), with WebCrypto.
async function signature(sessionKey) {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(sessionKey),
    { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new Uint8Array(0));
  return Array.from(new Uint8Array(mac), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function checksession() {
  if (!need(held.sessionKey, "run jscode2session")) return;
  if (!held.accessToken && !(await token())) return;
  await platformCall("GET", "/openserver/wxa/checksession", {
    access_token: held.accessToken, openid: held.openid,
    signature: await signature(held.sessionKey), sig_method: "hmac_sha256",
  });
}

async function redeem(path, code, what) {
  if (!need(code, `call wx.${what}`) || !need(held.openid, "run jscode2session")) return;
  if (!held.accessToken && !(await token())) return;
  handOver(`${what} code`, code);
  await platformCall("POST", path, { access_token: held.accessToken }, { code, openid: held.openid });
}

function fillSelect(select, values) {
  for (const value of values) {
    const option = document.createElement("option");
    option.value = option.textContent = value;
    select.appendChild(option);
  }
}

async function start() {
  setup = await (await fetch("/playground/api/setup")).json();
  fillSelect($("app"), setup.apps.map((a) => a.appid));
  fillSelect($("user"), setup.users);
  for (const select of document.querySelectorAll("select.version")) fillSelect(select, setup.versions);
  $("default").value = "v2";
  for (const id of ["app", "user", "app-json", "hook", "default"]) $(id).addEventListener("change", () => {
    // Another app or user: what the developer server held is not theirs.
    for (const key of Object.keys(held)) held[key] = null;
    showHeld("-", false);
    explain();
  });
  const button = (parent, api, text, params) => {
    const element = document.createElement("button");
    element.id = `wx-${api}`;
    element.textContent = text;
    element.addEventListener("click", () => callWx(api, params()));
    $(parent).appendChild(element);
  };
  for (const api of WX_APIS.filter((a) => setup.apis.includes(a))) button("wx-buttons", api, `wx.${api}`, () => ({}));
  for (const scope of setup.scopes) {
    const option = document.createElement("option");
    option.value = scope.scope;
    option.textContent = `${scope.scope} (${scope.title})`;
    $("scope").appendChild(option);
  }
  $("scope").value = "scope.userLocation";
  for (const api of CONSENT_APIS.filter((a) => setup.apis.includes(a))) {
    button("consent-buttons", api, `wx.${api}`, () => (api === "authorize" ? { scope: $("scope").value } : {}));
  }
  for (const name of setup.custom_apis) {
    button("custom-buttons", "invokeNativePlugin", `wx.invokeNativePlugin (${name})`,
      () => ({ api_name: name, data: { shop: "demo" } }));
  }
  $("consent-dialog").addEventListener("close", () => {
    const dialog = $("consent-dialog");
    if (dialog.dataset.id) answer(dialog.dataset.id, { answer: dialog.returnValue || "cancel" });
    dialog.dataset.id = "";
  });
  $("settings-dialog").addEventListener("close", () => {
    const dialog = $("settings-dialog");
    const settings = {};
    if (dialog.returnValue === "done") {
      for (const box of dialog.querySelectorAll("input[type=checkbox]")) {
        if (String(box.checked) !== box.dataset.was) settings[box.dataset.scope] = box.checked;
      }
    }
    if (dialog.dataset.id) answer(dialog.dataset.id, { settings });
    dialog.dataset.id = "";
  });
  $("dev-jscode2session").addEventListener("click", jscode2session);
  $("dev-token").addEventListener("click", token);
  $("dev-checksession").addEventListener("click", checksession);
  $("dev-getuserphonenumber").addEventListener("click",
    () => redeem("/openserver/wxa/business/getuserphonenumber", held.phoneCode, "getPhoneNumber"));
  $("dev-getemailaddress").addEventListener("click",
    () => redeem("/openserver/wxa/business/getemailaddress", held.emailCode, "getEmail"));
  $("clear").addEventListener("click", () => { $("messages").replaceChildren(); });
  await explain();
  document.body.dataset.ready = "true";
}

start().catch((e) => showError(`the playground could not start: ${e.message}`));
