// The other screens: settings round trip, stats drawn by uPlot, alerts,
// themes, and the phone layout. Screenshots of each (UPDATE_SCREENSHOTS=1
// writes them to docs/screenshots).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import { Browser, Hookscope, screenshot } from "./lib.mjs";

const hs = new Hookscope();
const br = new Browser();
let page;
let bin;

before(async () => {
  await hs.start();
  bin = (await hs.createBin({ name: "stripe staging" })).id;
  const secret = "whsec_e2e_secret";
  await hs.api("PATCH", `/api/v1/bins/${bin}`, { signature: { scheme: "stripe", secret } });
  const events = ["invoice.paid", "customer.created", "charge.refunded", "payment_intent.succeeded"];
  for (let i = 0; i < 24; i++) {
    const ev = events[i % events.length];
    const body = JSON.stringify({ id: `evt_${1000 + i}`, object: "event", type: ev, created: 1700000000 + i, data: { object: { id: `in_${i}`, amount_due: 1000 + i * 37, currency: "eur", customer: `cus_${i % 3}`, lines: { data: [{ amount: 500, description: "Pro plan" }] } } }, livemode: false });
    const t = Math.floor(Date.now() / 1000) - 2;
    const good = crypto.createHmac("sha256", secret).update(`${t}.${body}`).digest("hex");
    // Most are signed correctly; i % 6 == 2 has a bad signature; GETs and i % 11 == 5 none.
    const sigHeader = i % 11 === 5 || i % 7 === 3 ? {} : { "Stripe-Signature": `t=${t},v1=${i % 6 === 2 ? good.replace(/^./, (c) => (c === "0" ? "1" : "0")) : good}` };
    await hs.capture(bin, {
      method: i % 7 === 3 ? "GET" : "POST",
      path: i % 5 === 0 ? "/github/push" : "/stripe/events",
      query: i % 4 === 0 ? `attempt=${i}` : "",
      headers: { "Content-Type": "application/json", "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)", ...sigHeader },
      body,
    });
  }
  page = await br.start();
  await hs.adopt(page, bin);
});

after(async () => {
  await br.close();
  await hs.cleanup();
});

test("signature verdicts show as badges, filter, and explain themselves", async () => {
  await page.goto(`${hs.url}/bins/${bin}`);
  await page.waitForSelector("[data-testid=request-list] .row");
  assert.ok((await page.locator("[data-testid=request-list] .sig-valid").count()) > 0, "valid badges");
  assert.ok((await page.locator("[data-testid=request-list] .sig-invalid").count()) > 0, "invalid badges");
  await page.click("text=Filters");
  await page.selectOption("[aria-label='Signature filter']", "invalid");
  await page.waitForFunction(() => {
    const rows = document.querySelectorAll("[data-testid=request-list] .row");
    return rows.length > 0 && [...rows].every((r) => r.querySelector(".sig-invalid"));
  }, null, { timeout: 3000 });
  const n = await page.locator("[data-testid=request-list] .row").count();
  assert.equal(n, 4, "i % 6 == 2 for i < 24");
  await page.click("[data-testid=request-list] .row >> nth=0");
  const verdict = await page.textContent("[data-testid=sig-verdict]");
  assert.match(verdict, /stripe/);
  assert.match(verdict, /invalid/);
  assert.match(verdict, /—\s*\S/, "a reason is shown");
  await page.click("text=Reset");
  await page.click("[data-testid=request-list] .row:has(.sig-valid) >> nth=0");
  await page.waitForSelector("[data-testid=json-view]");
  assert.match(await page.textContent("[data-testid=sig-verdict]"), /valid/);
  await screenshot(page, "request-detail-signature");
});

test("settings save through PATCH and read back", async () => {
  await page.goto(`${hs.url}/bins/${bin}/settings`);
  await page.waitForSelector("[data-testid=settings]");
  await page.fill("input[name=name]", "renamed bin");
  await page.click("[data-testid=save-settings]");
  await page.waitForSelector("text=Settings saved");
  const b = await hs.api("GET", `/api/v1/bins/${bin}`);
  assert.equal(b.name, "renamed bin");
  assert.match(await page.textContent(".bin-title h1"), /renamed bin/);
  await screenshot(page, "settings");
});

test("stats panel draws uPlot charts from the stats API", async () => {
  await page.goto(`${hs.url}/bins/${bin}/stats`);
  await page.waitForSelector("[data-testid=stats] .stat-value");
  const total = await page.textContent("[data-testid=stats] .stat-value");
  assert.equal(total, "24");
  await page.waitForSelector("[data-testid=series-chart] canvas");
  assert.ok((await page.locator("[data-testid=stats] canvas").count()) >= 3, "series, status and method charts");
  await screenshot(page, "stats");
});

test("alerts panel loads", async () => {
  await page.goto(`${hs.url}/bins/${bin}/alerts`);
  await page.waitForSelector("[data-testid=alerts]");
  await screenshot(page, "alerts");
});

test("dark theme toggles and is remembered", async () => {
  await page.goto(`${hs.url}/bins/${bin}`);
  await page.waitForSelector("[data-testid=request-list] .row");
  const before = await page.getAttribute("html", "data-theme");
  await page.click(".theme-toggle");
  await page.waitForFunction((b) => document.documentElement.getAttribute("data-theme") !== b, before);
  const after = await page.getAttribute("html", "data-theme");
  assert.notEqual(after, before);
  if (after !== "dark") await page.click(".theme-toggle");
  await page.waitForFunction(() => document.documentElement.getAttribute("data-theme") === "dark");
  assert.equal(await page.getAttribute("html", "data-theme"), "dark");
  await page.reload();
  await page.waitForSelector("[data-testid=request-list] .row");
  assert.equal(await page.getAttribute("html", "data-theme"), "dark");
  await page.click("[data-testid=request-list] .row:has-text('/stripe/events') >> nth=0");
  await page.waitForSelector("[data-testid=json-view]");
  await screenshot(page, "dark-request-detail");
  await page.goto(`${hs.url}/bins/${bin}/stats`);
  await page.waitForSelector("[data-testid=series-chart] canvas");
  await screenshot(page, "dark-stats");
  await page.click(".theme-toggle");
  await page.waitForFunction(() => document.documentElement.getAttribute("data-theme") === "light");
});

test("phone width: list, then detail full screen with a back button", async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${hs.url}/bins/${bin}`);
  await page.waitForSelector("[data-testid=request-list] .row");
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
  await screenshot(page, "phone-list");
  await page.click("[data-testid=request-list] .row >> nth=0");
  await page.waitForSelector("[data-testid=detail]");
  assert.ok(await page.isVisible("[data-testid=detail]"));
  assert.ok(!(await page.isVisible("[data-testid=request-list]")), "the list is hidden behind the detail");
  await screenshot(page, "phone-detail");
  await page.click("[aria-label='Close request']");
  await page.waitForSelector("[data-testid=request-list] .row");
  await page.goto(`${hs.url}/`);
  await page.waitForSelector("[data-testid=create-bin]");
  await screenshot(page, "phone-home");
  await page.setViewportSize({ width: 1280, height: 800 });
});

test("a share link's ?token= is kept for the bin and sent as a Bearer token (and ?token= on the websocket)", async () => {
  const auth = [];
  const sockets = [];
  const onReq = (r) => r.url().includes(`/api/v1/bins/${bin}`) && auth.push(r.headers()["authorization"]);
  const onWs = (ws) => sockets.push(ws.url());
  // A real share (read) token, in a browser that holds no owner token.
  const share = await hs.api("POST", `/api/v1/bins/${bin}/share`, { expires_in: "1h" });
  const shareTok = new URL(share.url).searchParams.get("token");
  assert.ok(shareTok);
  await page.evaluate(() => localStorage.removeItem("hookscope.tokens"));
  page.on("request", onReq);
  page.on("websocket", onWs);
  await page.goto(`${hs.url}/bins/${bin}?token=${shareTok}`);
  await page.waitForSelector("[data-testid=request-list] .row");
  await page.waitForSelector("[data-testid=live-state].live-live");
  page.off("request", onReq);
  page.off("websocket", onWs);
  assert.equal(new URL(page.url()).search, "", "the token is removed from the address bar");
  assert.equal(await page.evaluate(() => JSON.parse(localStorage.getItem("hookscope.tokens"))[location.pathname.split("/")[2]]), shareTok);
  assert.ok(auth.length >= 2, "bin and requests were fetched");
  assert.ok(auth.every((h) => h === `Bearer ${shareTok}`), JSON.stringify(auth));
  assert.ok(sockets.some((u) => new URL(u).searchParams.get("token") === shareTok), JSON.stringify(sockets));
  // A share link renders read-only.
  assert.match(await page.textContent("[data-testid=readonly-banner]"), /Read-only link · expires/);
  // Forgetting the bin on the home page forgets its token.
  await page.goto(`${hs.url}/`);
  await page.click(`[aria-label='Forget bin ${bin}']`);
  assert.equal(await page.evaluate((b) => JSON.parse(localStorage.getItem("hookscope.tokens"))[b], bin), undefined);
});

test("no page errors or CSP violations", () => {
  assert.deepEqual(br.errors, []);
  assert.deepEqual(br.dialogs, []);
});
