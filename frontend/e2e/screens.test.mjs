// The other screens: settings round trip, stats drawn by uPlot, alerts,
// themes, and the phone layout. Screenshots of each (UPDATE_SCREENSHOTS=1
// writes them to docs/screenshots).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Browser, Hookscope, screenshot } from "./lib.mjs";

const hs = new Hookscope();
const br = new Browser();
let page;
let bin;

before(async () => {
  await hs.start();
  bin = (await hs.createBin({ name: "stripe staging" })).id;
  const events = ["invoice.paid", "customer.created", "charge.refunded", "payment_intent.succeeded"];
  for (let i = 0; i < 24; i++) {
    const ev = events[i % events.length];
    await hs.capture(bin, {
      method: i % 7 === 3 ? "GET" : "POST",
      path: i % 5 === 0 ? "/github/push" : "/stripe/events",
      query: i % 4 === 0 ? `attempt=${i}` : "",
      headers: { "Content-Type": "application/json", "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)", "Stripe-Signature": `t=${1700000000 + i},v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd` },
      body: JSON.stringify({ id: `evt_${1000 + i}`, object: "event", type: ev, created: 1700000000 + i, data: { object: { id: `in_${i}`, amount_due: 1000 + i * 37, currency: "eur", customer: `cus_${i % 3}`, lines: { data: [{ amount: 500, description: "Pro plan" }] } } }, livemode: false }),
    });
  }
  page = await br.start();
});

after(async () => {
  await br.close();
  await hs.cleanup();
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
  const after = await page.getAttribute("html", "data-theme");
  assert.notEqual(after, before);
  if (after !== "dark") await page.click(".theme-toggle");
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
  assert.equal(await page.getAttribute("html", "data-theme"), "light");
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

test("no page errors or CSP violations", () => {
  assert.deepEqual(br.errors, []);
  assert.deepEqual(br.dialogs, []);
});
