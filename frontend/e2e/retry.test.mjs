// Forward retries and redelivery in the inspector (issue 18), against a
// scripted receiver on loopback: the retry state and every attempt in the
// row and the detail view, the retry settings, and redeliver.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { Browser, Hookscope, screenshot, waitFor } from "./lib.mjs";

const hs = new Hookscope({ HOOKSCOPE_ALLOW_PRIVATE_TARGETS: "true" });
const br = new Browser();
let page;
let receiver;
let target;
// Answers per path: the i-th request to a path gets script[path][i] (the
// last one once they run out).
const script = { "/flaky": [500, 500, 200], "/down": [503] };
const hits = {};

before(async () => {
  receiver = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const p = req.url.split("?")[0];
      const i = (hits[p] = (hits[p] ?? 0) + 1) - 1;
      const s = script[p] ?? [404];
      res.writeHead(s[Math.min(i, s.length - 1)], { "Content-Type": "application/json" });
      res.end('{"ok":true}');
    });
  });
  await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
  target = `http://127.0.0.1:${receiver.address().port}`;
  await hs.start();
  page = await br.start();
});

after(async () => {
  await br.close();
  await hs.cleanup();
  receiver.close();
});

test("retry settings are saved from the settings panel", async () => {
  const bin = (await hs.createBin({ name: "retry settings" })).id;
  await page.goto(`${hs.url}/bins/${bin}/settings`);
  await page.fill("input[name=forward_url]", `${target}/flaky`);
  await page.fill("input[name=forward_retry]", "4");
  await page.fill("input[name=forward_retry_initial]", "2s");
  await page.fill("input[name=forward_retry_max]", "30s");
  await page.fill("input[name=forward_filter]", "method=POST");
  await page.click("[data-testid=save-settings]");
  await page.waitForSelector("text=Settings saved");
  const fwd = (await hs.api("GET", `/api/v1/bins/${bin}`)).settings.forward;
  assert.deepEqual(fwd.retry, { max_attempts: 4, initial: "2s", max: "30s" });
  assert.equal(fwd.filter, "method=POST");
  // Saving again keeps them (the form sends what it shows).
  await page.reload();
  assert.equal(await page.inputValue("input[name=forward_retry]"), "4");
  await page.click("[data-testid=save-settings]");
  await page.waitForSelector("text=Settings saved");
  assert.equal((await hs.api("GET", `/api/v1/bins/${bin}`)).settings.forward.retry.max_attempts, 4);
});

test("a retrying forward shows its state and attempts in the row and the detail view, then delivered", async () => {
  const bin = (await hs.createBin({ name: "retries", forward: { url: `${target}/flaky`, retry: { max_attempts: 5, initial: "3s", max: "3s" } } })).id;
  await hs.capture(bin, { path: "/", headers: { "Content-Type": "application/json" }, body: '{"order":1}' });
  // The record is stored after the first attempt, retrying.
  const first = await waitFor(async () => {
    const r = (await hs.api("GET", `/api/v1/bins/${bin}/requests?limit=1`)).requests[0];
    return r?.forward?.state === "retrying" && r;
  }, 15000, 100);
  assert.ok(first, "stored as retrying");
  await page.goto(`${hs.url}/bins/${bin}`);
  const row = "[data-testid=request-list] .row [data-testid=fwd]";
  await page.waitForSelector(`${row}[data-state=retrying]`, { timeout: 5000 });
  // (On a loaded machine the second attempt may already have failed.)
  assert.match((await page.textContent(row)).trim(), /^→ 500 · retrying \([12] attempts?\)$/);
  await page.click("[data-testid=request-list] .row");
  await page.waitForSelector("[data-testid=fwd-block][data-state=retrying]");
  assert.equal((await page.textContent("[data-testid=fwd-state]")).trim(), "retrying");
  assert.ok((await page.locator("[data-testid=fwd-attempt]").count()) >= 1);
  assert.match(await page.textContent("[data-testid=fwd-next]"), /next attempt at \d\d:\d\d:\d\d/);
  assert.equal(await page.locator("[data-testid=redeliver]").count(), 0, "no redeliver while retrying");
  await screenshot(page, "forward-retrying");
  // The open detail view follows the retries to delivery (attempts fill in).
  await page.waitForSelector("[data-testid=fwd-block][data-state=delivered]", { timeout: 20000 });
  const attempts = await page.locator("[data-testid=fwd-attempt]").allTextContents();
  assert.equal(attempts.length, 3);
  assert.match(attempts[0], /#1 .* 500/);
  assert.match(attempts[1], /#2 .* 500/);
  assert.match(attempts[2], /#3 .* 200/);
  await screenshot(page, "forward-delivered-after-retries");
  assert.equal(hits["/flaky"], 3);
  // The row follows what the detail view learned, and shows it after a reload.
  await page.waitForSelector(`${row}[data-state=delivered]`, { timeout: 5000 });
  await page.goto(`${hs.url}/bins/${bin}`);
  await page.waitForSelector(`${row}[data-state=delivered]`, { timeout: 5000 });
  assert.match((await page.textContent(row)).trim(), /^→ 200( · [\d.]+ (µs|ms|s))?$/);
});

test("redeliver from the inspector sends a failed forward again and shows the new attempt", async () => {
  const bin = (await hs.createBin({ name: "redeliver", forward: { url: `${target}/down`, retry: { max_attempts: 2, initial: "100ms", max: "100ms" } } })).id;
  await hs.capture(bin, { path: "/", headers: { "Content-Type": "application/json" }, body: '{"order":2}' });
  const failed = await waitFor(async () => {
    const r = (await hs.api("GET", `/api/v1/bins/${bin}/requests?forward=failed`)).requests[0];
    return r?.forward?.attempts?.length === 2 && r;
  }, 15000, 100);
  assert.ok(failed, "failed after two attempts");
  await page.goto(`${hs.url}/bins/${bin}`);
  const row = "[data-testid=request-list] .row [data-testid=fwd]";
  await page.waitForSelector(`${row}[data-state=failed]`, { timeout: 5000 });
  assert.match((await page.textContent(row)).trim(), /^→ 503 · failed after 2$/);
  await page.click("[data-testid=request-list] .row");
  await page.waitForSelector("[data-testid=fwd-block][data-state=failed] [data-testid=redeliver]");
  await screenshot(page, "forward-failed-redeliver");
  script["/down"] = [200]; // the target recovered
  hits["/down"] = 0;
  await page.click("[data-testid=redeliver]");
  await page.waitForSelector("[data-testid=fwd-block][data-state=delivered]", { timeout: 15000 });
  await page.waitForSelector("text=Redelivered: 200");
  const attempts = await page.locator("[data-testid=fwd-attempt]").allTextContents();
  assert.equal(attempts.length, 3);
  assert.match(attempts[2], /#3 .* 200/);
  assert.equal(hits["/down"], 1);
  await page.waitForSelector(`${row}[data-state=delivered]`, { timeout: 5000 });
  await screenshot(page, "forward-redelivered");
  // The record itself says so (one record, three attempts).
  const rec = await waitFor(async () => {
    const r = await hs.api("GET", `/api/v1/bins/${bin}/requests/${failed.id}`);
    return r.forward.state === "delivered" && r;
  }, 15000, 100);
  assert.deepEqual(rec.forward.attempts.map((a) => a.status), [503, 503, 200]);
  assert.equal((await hs.api("GET", `/api/v1/bins/${bin}/requests`)).requests.length, 1);
});

test("no page errors", () => {
  assert.deepEqual(br.errors, []);
  assert.deepEqual(br.dialogs, []);
});
