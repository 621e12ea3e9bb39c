// The playground in a real browser (Debian's chromium, driven by
// playwright-core; no browser is downloaded): starts the openserver binary
// with --playground on a free loopback port, clicks through the v2 and v3
// login stories and the consent and custom-API story (the host's prompt
// and settings view as dialogs on the page, a custom API's intermediate
// states), asserts the diagram's arrows and values, and saves a screenshot
// under target/ (and docs/playground.png with UPDATE_SCREENSHOT=1).
//
// Run: .ci/playground (builds the binary, installs chromium and the npm
// dependencies), or `node tests/browser/playground.test.mjs` with
// OPENSERVER_BIN pointing at a built binary.
import { spawn } from "node:child_process";
import { mkdirSync, copyFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const target = process.env.CARGO_TARGET_DIR || join(root, "target");
const binary = process.env.OPENSERVER_BIN || join(target, "debug", "openserver");
const screenshot = join(target, "playground.png");
// The consent prompt, open on the page (the viewport only).
const consentScreenshot = join(target, "playground-consent.png");
const STEP_TIMEOUT_MS = 15000;

// Starts the binary and resolves with its URL, read from the one line it
// prints ("openserver listening on http://ADDR").
function startServer() {
  const child = spawn(binary, ["--listen", "127.0.0.1:0", "--config", join(root, "examples/openserver.json"),
    "--playground", "--log", "warn"], { stdio: ["ignore", "pipe", "inherit"] });
  const url = new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("openserver did not print its address")), STEP_TIMEOUT_MS);
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const found = out.match(/openserver listening on (http:\/\/127\.0\.0\.1:\d+)/);
      if (found) { clearTimeout(timer); resolve(found[1]); }
    });
    child.on("exit", (code) => { clearTimeout(timer); reject(new Error(`openserver exited early (${code})`)); });
  });
  return { child, url };
}

// The diagram's rows, as the page drew them.
async function arrows(page) {
  return page.$$eval("#messages .msg", (rows) => rows.map((r) => ({
    from: r.dataset.from, to: r.dataset.to, label: r.dataset.label, status: r.dataset.status,
    error: r.classList.contains("error"), json: r.querySelector("pre.json").textContent,
  })));
}

// Clicks a button and waits until the diagram has `more` rows more.
async function click(page, selector, more) {
  const before = await page.locator("#messages .msg").count();
  await page.click(selector);
  await page.waitForFunction((n) => document.querySelectorAll("#messages .msg").length >= n, before + more,
    { timeout: STEP_TIMEOUT_MS });
  return (await arrows(page)).slice(before);
}

function expectArrows(actual, expected, step) {
  assert.deepEqual(actual.map((a) => [a.from, a.to, a.label, a.status, a.error]), expected, step);
}

async function v2Story(page) {
  await page.selectOption("#app-json", "v2");
  let drawn = await click(page, "#wx-login", 4);
  expectArrows(drawn, [
    ["mini_program", "host", "wx.login", "request", false],
    ["host", "platform", "/openserver/sdk/login_code", "request", false],
    ["platform", "host", "/openserver/sdk/login_code", "ok", false],
    ["host", "mini_program", "wx.login", "login:ok", false],
  ], "v2 wx.login");
  const reply = JSON.parse(await page.textContent("#reply"));
  assert.equal(reply.errMsg, "login:ok");
  assert.match(await page.textContent("#held-code"), /^.{4}\*{6}.{2} \(\d+ chars\)$/, "the code is masked");

  drawn = await click(page, "#dev-jscode2session", 3);
  expectArrows(drawn, [
    ["mini_program", "developer_server", "wx.request (login code)", "request", false],
    ["developer_server", "platform", "GET /openserver/sns/jscode2session", "request", false],
    ["platform", "developer_server", "GET /openserver/sns/jscode2session", "ok", false],
  ], "jscode2session");
  assert.match(await page.textContent("#held-openid"), /^[0-9a-f]{64}$/);

  drawn = await click(page, "#dev-checksession", 4);
  expectArrows(drawn, [
    ["developer_server", "platform", "GET /openserver/cgi-bin/token", "request", false],
    ["platform", "developer_server", "GET /openserver/cgi-bin/token", "ok", false],
    ["developer_server", "platform", "GET /openserver/wxa/checksession", "request", false],
    ["platform", "developer_server", "GET /openserver/wxa/checksession", "ok", false],
  ], "checksession (the signature from WebCrypto)");

  // The code, and the number sealed under the session key beside it.
  drawn = await click(page, "#wx-getPhoneNumber", 6);
  expectArrows(drawn, [
    ["mini_program", "host", "wx.getPhoneNumber", "request", false],
    ["host", "platform", "/openserver/sdk/user_code", "request", false],
    ["platform", "host", "/openserver/sdk/user_code", "ok", false],
    ["host", "platform", "/openserver/sdk/open_data", "request", false],
    ["platform", "host", "/openserver/sdk/open_data", "ok", false],
    ["host", "mini_program", "wx.getPhoneNumber", "getPhoneNumber:ok", false],
  ], "v2 wx.getPhoneNumber");

  const phoneRoute = "POST /openserver/wxa/business/getuserphonenumber";
  drawn = await click(page, "#dev-getuserphonenumber", 3);
  expectArrows(drawn, [
    ["mini_program", "developer_server", "wx.request (getPhoneNumber code)", "request", false],
    ["developer_server", "platform", phoneRoute, "request", false],
    ["platform", "developer_server", phoneRoute, "ok", false],
  ], "getuserphonenumber");
  const answerRow = page.locator("#messages .msg").last();
  await answerRow.click();
  const answer = JSON.parse(await answerRow.locator("pre.json").textContent());
  assert.equal(answer.phone_info.phoneNumber, "+861******00 (14 chars)", "the phone number is masked");

  drawn = await click(page, "#dev-getuserphonenumber", 3);
  assert.equal(drawn[2].status, "40163 code been used", "the same code again");
  assert.ok(drawn[2].error, "a reused code's answer is drawn red");
  const color = await page.locator("#messages .msg.error .arrow").last()
    .evaluate((el) => getComputedStyle(el).borderTopColor);
  assert.equal(color, "rgb(198, 40, 40)");
  assert.match(await page.textContent("#held-answer"), /40163/);
}

async function v3Story(page) {
  await page.selectOption("#app-json", "v3");
  await page.waitForFunction(() => document.getElementById("explain").textContent.includes("login: v3 (from apiVersion in app.json)"),
    null, { timeout: STEP_TIMEOUT_MS });
  let drawn = await click(page, "#wx-login", 8);
  expectArrows(drawn, [
    ["mini_program", "host", "wx.login", "request", false],
    ["host", "superapp_server", "getAuthCode", "request", false],
    ["superapp_server", "platform", "/openserver/sdk/auth_code", "request", false],
    ["platform", "superapp_server", "/openserver/sdk/auth_code", "ok", false],
    ["superapp_server", "host", "getAuthCode", "ok", false],
    ["host", "platform", "/openserver/sdk/login_code", "request", false],
    ["platform", "host", "/openserver/sdk/login_code", "ok", false],
    ["host", "mini_program", "wx.login", "login:ok", false],
  ], "v3 wx.login");
  drawn = await click(page, "#dev-jscode2session", 3);
  assert.equal(drawn[2].status, "ok", "v3 jscode2session");
  drawn = await click(page, "#wx-getPhoneNumber", 10);
  assert.equal(drawn[1].label, "getAuthCode");
  assert.deepEqual(JSON.parse(drawn[1].json).scopes, ["SCOPE_PHONE_NUMBER"], "getAuthCode asks the phone scope");
  assert.equal(drawn[9].status, "getPhoneNumber:ok", "v3 wx.getPhoneNumber");
  // The version changed, so the developer server dropped what it held:
  // it fetches a token first.
  drawn = await click(page, "#dev-getuserphonenumber", 5);
  assert.deepEqual(drawn.map((a) => a.label), ["GET /openserver/cgi-bin/token", "GET /openserver/cgi-bin/token",
    "wx.request (getPhoneNumber code)", "POST /openserver/wxa/business/getuserphonenumber",
    "POST /openserver/wxa/business/getuserphonenumber"]);
  assert.equal(drawn[4].status, "ok", "v3 getuserphonenumber");
}

// Clicks a button whose call asks the consent prompt, checks the dialog,
// answers it, and returns the rows the whole call drew.
async function prompted(page, selector, scope, title, button, picture) {
  const before = await page.locator("#messages .msg").count();
  await page.click(selector);
  await page.waitForSelector("#consent-dialog[open]");
  assert.equal(await page.textContent("#consent-scope"), scope);
  assert.equal(await page.textContent("#consent-title"), title);
  if (picture) await page.screenshot({ path: picture });
  await page.click(button);
  await page.waitForFunction(() => !document.getElementById("consent-dialog").open);
  return before;
}

// Waits until the last reply's errMsg is `errMsg`, and returns the rows drawn since `before`.
async function replied(page, before, errMsg) {
  await page.waitForFunction((m) => document.getElementById("reply").textContent.includes(`"errMsg": "${m}"`), errMsg,
    { timeout: STEP_TIMEOUT_MS });
  return (await arrows(page)).slice(before);
}

async function consentStory(page) {
  await page.selectOption("#scope", "scope.userLocation");
  let before = await prompted(page, "#wx-authorize", "scope.userLocation", "Precise location", "#consent-allow");
  let drawn = await replied(page, before, "authorize:ok");
  expectArrows(drawn, [
    ["mini_program", "host", "wx.authorize", "request", false],
    ["host", "host", "consent prompt", "request", false],
    ["host", "host", "consent prompt", "allow", false],
    ["host", "mini_program", "wx.authorize", "authorize:ok", false],
  ], "wx.authorize: the prompt is a dialog on the page");

  before = await page.locator("#messages .msg").count();
  await page.click("#wx-getSetting");
  await replied(page, before, "getSetting:ok");
  assert.deepEqual(JSON.parse(await page.textContent("#reply")).authSetting, { "scope.userLocation": true });

  // The settings view: switch the location off.
  before = await page.locator("#messages .msg").count();
  await page.click("#wx-openSetting");
  await page.waitForSelector("#settings-dialog[open]");
  const box = page.locator("#settings-list input[data-scope='scope.userLocation']");
  assert.equal(await box.isChecked(), true);
  await box.uncheck();
  await page.click("#settings-done");
  drawn = await replied(page, before, "openSetting:ok");
  assert.deepEqual(drawn.map((a) => [a.label, a.status]), [["wx.openSetting", "request"],
    ["settings view", "request"], ["settings view", "1 changed"], ["wx.openSetting", "openSetting:ok"]]);
  assert.deepEqual(JSON.parse(await page.textContent("#reply")).authSetting, { "scope.userLocation": false });

  // Denied now: no prompt, a red answer.
  drawn = await click(page, "#wx-authorize", 2);
  expectArrows(drawn, [
    ["mini_program", "host", "wx.authorize", "request", false],
    ["host", "mini_program", "wx.authorize", "authorize:fail auth deny", true],
  ], "a denied scope fails without a prompt");

  // The host's own API: the camera prompt, then three states before the reply.
  before = await prompted(page, "#wx-invokeNativePlugin", "scope.camera", "Camera", "#consent-allow", consentScreenshot);
  drawn = await replied(page, before, "invokeNativePlugin:ok");
  const states = drawn.filter((a) => a.status === "state");
  assert.deepEqual(states.map((a) => JSON.parse(a.json).stage), ["camera opened", "card in view", "card read"]);
  assert.ok(states.every((a) => a.from === "host" && a.to === "mini_program"));
  assert.equal(drawn.at(-1).status, "invokeNativePlugin:ok", "the reply comes after the states");
  const state = page.locator("#messages .msg.state .arrow").last();
  assert.equal(await state.evaluate((el) => getComputedStyle(el).borderTopStyle), "dotted");
}

async function main() {
  mkdirSync(target, { recursive: true });
  const { child, url } = startServer();
  let browser;
  try {
    const base = await url;
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
    const page = await browser.newPage({ viewport: { width: 1280, height: 1100 } });
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    page.on("dialog", (d) => d.dismiss());
    await page.goto(`${base}/playground`);
    await page.waitForSelector("body[data-ready=true]");
    await v2Story(page);
    await v3Story(page);
    await consentStory(page);
    await page.screenshot({ path: screenshot, fullPage: true });
    console.log(`playground: the v2, v3 and consent stories passed; screenshot at ${screenshot}`);
    if (process.env.UPDATE_SCREENSHOT === "1") {
      copyFileSync(screenshot, join(root, "docs", "playground.png"));
      copyFileSync(consentScreenshot, join(root, "docs", "playground-consent.png"));
      console.log("playground: docs/playground.png and docs/playground-consent.png rewritten");
    }
  } finally {
    if (browser) await browser.close().catch(() => {});
    child.kill("SIGTERM");
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
