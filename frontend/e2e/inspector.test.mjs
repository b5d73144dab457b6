// The main path: create a bin in the UI, capture with curl-like calls, see
// them live, open one (JSON view, headers, query), search, keyboard, deep
// link, and reconnect after the server restarts.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { Browser, Hookscope, screenshot, sleep } from "./lib.mjs";

const hs = new Hookscope();
const br = new Browser();
let page;
let binId;

before(async () => {
  await hs.start();
  page = await br.start();
});

after(async () => {
  await br.close();
  await hs.cleanup();
});

test("home creates a bin in one click and remembers it", async () => {
  await page.goto(hs.url + "/");
  await screenshot(page, "home-empty");
  await page.click("[data-testid=create-bin]");
  await page.waitForURL(/\/bins\/[^/]+$/);
  binId = new URL(page.url()).pathname.split("/")[2];
  assert.ok(binId, "bin id in the URL");
  const shown = await page.textContent("[data-testid=bin-url]");
  assert.match(shown, new RegExp(`/h/${binId}$`));
  // The API knows the bin.
  const b = await hs.api("GET", `/api/v1/bins/${binId}`);
  assert.equal(b.id, binId);
  // And the home page lists it as recent.
  await page.goto(hs.url + "/");
  await page.waitForSelector(`.bin-list a[href="/bins/${binId}"]`);
  await screenshot(page, "home");
  await page.click(`.bin-list a[href="/bins/${binId}"]`);
  await page.waitForURL(new RegExp(`/bins/${binId}$`));
});

test("captured requests appear live within a second", async (t) => {
  await page.waitForSelector("[data-testid=live-state].live-live");
  await screenshot(page, "bin-empty");
  const t0 = Date.now();
  await hs.capture(binId, {
    path: "/stripe/events",
    query: "x=1&tag=blue",
    headers: { "Content-Type": "application/json", "X-Custom-Header": "custom-value-42", "Stripe-Signature": "t=1,v1=abc" },
    body: JSON.stringify({ id: "evt_1", type: "invoice.paid", data: { object: { amount: 4200, currency: "eur", lines: [1, 2, 3] } }, livemode: false }),
  });
  await page.waitForSelector("[data-testid=request-list] .row", { timeout: 1000 });
  const ms = Date.now() - t0;
  assert.ok(ms < 1000, `row appeared after ${ms} ms`);
  t.diagnostic(`POST to row on screen: ${ms} ms`);
  for (let i = 0; i < 4; i++) {
    await hs.capture(binId, { method: i % 2 ? "PUT" : "POST", path: `/orders/${i}`, headers: { "Content-Type": "application/x-www-form-urlencoded" }, body: `order=${i}&note=hello+world` });
  }
  await hs.capture(binId, { method: "GET", path: "/ping", query: "source=e2e" });
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=request-list] .row").length === 6, null, { timeout: 2000 });
  const top = await page.textContent("[data-testid=request-list] .row:first-child .path");
  assert.match(top, /\/ping/);
  await screenshot(page, "bin-live-list");
});

test("request detail shows overview, JSON tree, headers and query", async () => {
  await page.click("[data-testid=request-list] .row:has-text('/stripe/events')");
  await page.waitForURL(/\/requests\/[0-9a-f-]+$/);
  await page.waitForSelector("[data-testid=json-view]");
  const jsonText = await page.textContent("[data-testid=json-view]");
  for (const s of ['"invoice.paid"', '"amount"', "4200", '"currency"']) assert.ok(jsonText.includes(s), `JSON view shows ${s}`);
  // Collapse the root and expand it again.
  await page.click("[data-testid=json-view] .json-toggle >> nth=0");
  assert.ok((await page.textContent("[data-testid=json-view]")).includes("keys"), "collapsed node shows a key count");
  assert.ok(!(await page.textContent("[data-testid=json-view]")).includes("4200"));
  await page.click("[data-testid=json-view] .json-summary >> nth=0");
  assert.ok((await page.textContent("[data-testid=json-view]")).includes("4200"));
  await screenshot(page, "request-detail-json");
  const overview = await page.textContent(".overview");
  assert.match(overview, /127\.0\.0\.1/);
  assert.match(overview, /200/);

  await page.click("[data-testid=tab-headers]");
  const headers = await page.textContent("[data-testid=headers-table]");
  assert.match(headers, /X-Custom-Header/i);
  assert.match(headers, /custom-value-42/);
  await page.click("[data-testid=tab-query]");
  const q = await page.textContent("[data-testid=query-table]");
  assert.match(q, /tag/);
  assert.match(q, /blue/);

  // Form bodies get a form view.
  await page.click("[data-testid=request-list] .row:has-text('/orders/1')");
  await page.click("text=Body");
  await page.waitForSelector("[data-testid=form-table]");
  assert.match(await page.textContent("[data-testid=form-table]"), /hello world/);
});

test("deep link to a request opens it after a reload", async () => {
  await page.click("[data-testid=request-list] .row:has-text('/stripe/events')");
  const url = page.url();
  await page.goto(url);
  await page.waitForSelector("[data-testid=json-view]");
  assert.ok((await page.textContent("[data-testid=json-view]")).includes("invoice.paid"));
  assert.ok(await page.isVisible("[data-testid=request-list] .row.open"), "the opened row is highlighted in the list");
});

test("keyboard: j/k move through the list and Enter opens", async () => {
  await page.goto(`${hs.url}/bins/${binId}`);
  await page.waitForSelector("[data-testid=request-list] .row");
  await page.locator("body").press("j");
  await page.locator("body").press("j");
  await page.locator("body").press("k");
  await page.locator("body").press("ArrowDown");
  await page.locator("body").press("Enter");
  await page.waitForURL(/\/requests\//);
  const rows = page.locator("[data-testid=request-list] .row");
  // The cursor starts before the first row: j j k ↓ lands on the second row.
  const second = await rows.nth(1).getAttribute("data-id");
  assert.ok(page.url().endsWith(second), `opened ${page.url()}, want row 2 ${second}`);
  await page.locator("body").press("Escape");
  await page.waitForURL(new RegExp(`/bins/${binId}$`));
});

test("search and filters are answered by the history API", async () => {
  await page.fill("#search", "note=hello");
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=request-list] .row").length === 4, null, { timeout: 3000 });
  await page.fill("#search", "custom-value-42");
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=request-list] .row").length === 1, null, { timeout: 3000 });
  assert.match(await page.textContent("[data-testid=request-list] .row"), /stripe\/events/);
  await page.fill("#search", "");
  await page.click("text=Filters");
  await page.selectOption("[aria-label='Method filter']", "PUT");
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=request-list] .row").length === 2, null, { timeout: 3000 });
  // Live updates respect the filter.
  await hs.capture(binId, { method: "PUT", path: "/live-put" });
  await hs.capture(binId, { method: "POST", path: "/live-post" });
  await page.waitForSelector("[data-testid=request-list] .row:has-text('/live-put')", { timeout: 2000 });
  await sleep(300);
  assert.equal(await page.locator("[data-testid=request-list] .row:has-text('/live-post')").count(), 0);
  await page.click("text=Reset");
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=request-list] .row").length === 8, null, { timeout: 3000 });
  // A time range: nothing since tomorrow; with an end, the list is history only (no live feed).
  const local = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
  await page.fill("[aria-label=Since]", local(new Date(Date.now() + 86400e3)));
  await page.waitForSelector("text=No matching requests", { timeout: 3000 });
  await page.fill("[aria-label=Since]", local(new Date(Date.now() - 3600e3)));
  await page.fill("[aria-label=Until]", local(new Date(Date.now() + 3600e3)));
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=request-list] .row").length === 8, null, { timeout: 3000 });
  await page.waitForSelector("[data-testid=live-state]:has-text('history')");
  await page.click("text=Reset");
  await page.waitForSelector("[data-testid=live-state].live-live");
});

test("pause holds new requests until resume", async () => {
  await page.click("[data-testid=pause]");
  await hs.capture(binId, { path: "/while-paused" });
  await page.waitForSelector("[data-testid=pause]:has-text('1 new')", { timeout: 2000 });
  assert.equal(await page.locator("[data-testid=request-list] .row:has-text('/while-paused')").count(), 0);
  await page.click("[data-testid=pause]");
  await page.waitForSelector("[data-testid=request-list] .row:has-text('/while-paused')", { timeout: 1000 });
});

test("after a server restart the websocket reconnects and shows what was captured meanwhile", async () => {
  const before = await page.locator("[data-testid=request-list] .row").count();
  await hs.stop();
  await page.waitForSelector("[data-testid=live-state].live-reconnecting", { timeout: 5000 });
  await hs.start();
  // Captured right after the restart, most likely before the browser's
  // backoff lets it reconnect: it must come through after=<last id>.
  for (let i = 0; i < 3; i++) await hs.capture(binId, { path: `/after-restart/${i}` });
  await page.waitForSelector("[data-testid=live-state].live-live", { timeout: 10000 });
  await page.waitForFunction((n) => document.querySelectorAll("[data-testid=request-list] .row").length === n, before + 3, { timeout: 5000 });
  for (let i = 0; i < 3; i++) assert.equal(await page.locator(`[data-testid=request-list] .row:has-text('/after-restart/${i}')`).count(), 1);
  // And what was captured before the restart is still there (persistence).
  await page.reload();
  await page.waitForFunction((n) => document.querySelectorAll("[data-testid=request-list] .row").length === n, before + 3, { timeout: 5000 });
});

test("copy as curl gives a command that reproduces the request", async (t) => {
  await br.ctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: hs.url });
  await page.goto(`${hs.url}/bins/${binId}`);
  await page.click("[data-testid=request-list] .row:has-text('/stripe/events')");
  await page.waitForSelector("[data-testid=json-view]");
  await page.click("[data-testid=copy-curl]");
  await page.waitForSelector("text=curl command copied");
  const cmd = await page.evaluate(() => navigator.clipboard.readText());
  t.diagnostic(cmd);
  assert.match(cmd, /^curl -X 'POST' 'http:\/\/127\.0\.0\.1:\d+\/h\/[^/]+\/stripe\/events\?x=1&tag=blue'/);
  const before = (await hs.api("GET", `/api/v1/bins/${binId}/requests?limit=1`)).requests[0].id;
  execFileSync("sh", ["-c", cmd + " -s -o /dev/null"]);
  let again;
  for (let i = 0; i < 40; i++) {
    again = (await hs.api("GET", `/api/v1/bins/${binId}/requests?limit=1`)).requests[0];
    if (again.id !== before) break;
    await sleep(50);
  }
  assert.notEqual(again.id, before, "the curl command was captured");
  const full = await hs.api("GET", `/api/v1/bins/${binId}/requests/${again.id}`);
  const orig = await hs.api("GET", `/api/v1/bins/${binId}/requests/${new URL(page.url()).pathname.split("/").pop()}`);
  assert.equal(orig.path, "/stripe/events");
  assert.equal(full.path, "/stripe/events");
  assert.equal(full.query, "x=1&tag=blue");
  assert.deepEqual(full.body, orig.body);
  const hv = (r, n) => r.headers.find(([k]) => k.toLowerCase() === n)?.[1];
  assert.equal(hv(full, "x-custom-header"), "custom-value-42");
  assert.equal(hv(full, "content-type"), "application/json");
});

test("no dialogs, page errors or CSP violations happened", () => {
  assert.deepEqual(br.dialogs, []);
  assert.deepEqual(br.errors, []);
});
