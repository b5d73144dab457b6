// Forwarding and replay from the inspector, against a receiver on loopback
// (the operator's HOOKSCOPE_ALLOW_PRIVATE_TARGETS=true lets hookscope reach it).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { Browser, Hookscope, screenshot, waitFor } from "./lib.mjs";

const hs = new Hookscope({ HOOKSCOPE_ALLOW_PRIVATE_TARGETS: "true" });
const br = new Browser();
let page;
let bin;
let receiver;
let target;
const got = [];

before(async () => {
  receiver = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      got.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
      res.writeHead(req.url.startsWith("/fail") ? 503 : 200, { "Content-Type": "application/json" });
      res.end('{"received":true}');
    });
  });
  await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
  target = `http://127.0.0.1:${receiver.address().port}`;
  await hs.start();
  bin = (await hs.createBin({ name: "relay" })).id;
  page = await br.start();
  await hs.adopt(page, bin);
});

after(async () => {
  await br.close();
  await hs.cleanup();
  receiver.close();
});

test("forwarding set in the settings panel relays captures and shows the outcome", async (t) => {
  const ok = await fetch(`${hs.url}/api/v1/bins/${bin}/requests/00000000-0000-7000-8000-000000000000/replay`, { method: "POST", body: "{}", headers: { "Content-Type": "application/json" } });
  if (ok.status === 501) return t.skip("forwarding is not enabled on this server");
  await page.goto(`${hs.url}/bins/${bin}/settings`);
  await page.fill("input[name=forward_url]", `${target}/hooks`);
  await page.click("[data-testid=save-settings]");
  await page.waitForSelector("text=Settings saved");
  assert.equal((await hs.api("GET", `/api/v1/bins/${bin}`)).settings.forward.url, `${target}/hooks`);

  await page.goto(`${hs.url}/bins/${bin}`);
  await page.waitForSelector("[data-testid=live-state].live-live");
  await hs.capture(bin, { path: "/orders", query: "id=7", headers: { "Content-Type": "application/json", "X-Trace": "abc" }, body: '{"order":7}' });
  const fwd = await waitFor(() => got.find((g) => g.url === "/hooks/orders?id=7"));
  assert.ok(fwd, `forwarded: ${JSON.stringify(got)}; bin: ${JSON.stringify((await hs.api("GET", `/api/v1/bins/${bin}`)).settings)}; last: ${JSON.stringify((await hs.api("GET", `/api/v1/bins/${bin}/requests?limit=1`)).requests[0]?.forward)}; log: ${hs.log.join("").slice(-1500)}`);
  assert.equal(fwd.body, '{"order":7}');
  assert.equal(fwd.headers["x-trace"], "abc");
  // The record carries the forward result; the list shows it once stored
  // (the record reaches the log when the forward ended, the store a batch
  // later): wait for the store before reloading.
  let last;
  await waitFor(async () => {
    last = (await hs.api("GET", `/api/v1/bins/${bin}/requests?limit=1`)).requests[0];
    return last?.path === "/orders" && last.forward?.status === 200;
  }, 15000, 100);
  assert.equal(last?.forward?.status, 200, `stored with the forward's outcome: ${JSON.stringify(last)}`);
  await page.reload();
  await page.waitForSelector("[data-testid=request-list] .row:has-text('/orders') .fwd:has-text('200')", { timeout: 10000 });
  // The row shows the forward outcome with the target's latency.
  const fwdText = (await page.textContent("[data-testid=request-list] .row:has-text('/orders') [data-testid=fwd]")).trim();
  // (The latency part shows once ingest/forward measures it: 0 is left out.)
  assert.match(fwdText, /^→ 200( · [\d.]+ (µs|ms|s))?$/);
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${hs.url}/bins/${bin}`); // (following opened the request, which covers a phone's list)
  await page.waitForSelector("[data-testid=request-list] .row:has-text('/orders') [data-testid=fwd]");
  assert.ok(await page.isVisible("[data-testid=request-list] .row:has-text('/orders') [data-testid=fwd]"), "phone rows show it too");
  await screenshot(page, "phone-row-forward");
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.click("[data-testid=request-list] .row:has-text('/orders')");
  await page.waitForSelector("[data-testid=fwd-block]");
  await screenshot(page, "request-forwarded");
  const overview = await page.textContent(".overview");
  assert.match(overview, /Forwarded/);
  assert.ok(overview.includes(`${target}/hooks`));
});

test("replay from the detail view re-sends to another URL and shows the answer", async (t) => {
  if (!got.length) return t.skip("no forwarding");
  const n = got.length;
  await page.click("[data-testid=replay-toggle]");
  await page.fill("[aria-label='Replay URL']", `${target}/fail/replayed`);
  await page.click("[data-testid=replay-form] >> text=Send");
  await page.waitForSelector("[data-testid=replay-result]");
  const res = await page.textContent("[data-testid=replay-result]");
  assert.match(res, /503/);
  const rep = await waitFor(() => got.length > n && got[got.length - 1]);
  assert.equal(rep.url, "/fail/replayed");
  assert.equal(rep.body, '{"order":7}');
  // The replay is recorded in the bin and shows up live, grouped under its
  // original (issue 20: replays stay out of the list unless asked).
  await page.waitForSelector("[data-testid=replays-block] .fwd.bad", { timeout: 5000 });
  // It is the bin's only 5xx once replays are asked for.
  await page.goto(`${hs.url}/bins/${bin}?replays=include`);
  await page.waitForSelector("[data-testid=filters]"); // open: a filter is set
  await page.selectOption("[aria-label='Status filter']", "5xx");
  await page.waitForFunction(() => {
    const rows = document.querySelectorAll("[data-testid=request-list] .row");
    return rows.length === 1 && rows[0].querySelector(".status").textContent.startsWith("5");
  }, null, { timeout: 3000 });
});

test("no page errors", () => {
  assert.deepEqual(br.errors, []);
  assert.deepEqual(br.dialogs, []);
});
