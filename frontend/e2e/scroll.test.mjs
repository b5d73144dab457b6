// A big bin scrolls: the list is virtualized (few DOM rows whatever the
// count) and infinite scroll pages through older requests with the cursor.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Browser, Hookscope, pool, rowCount } from "./lib.mjs";

const N = Number(process.env.E2E_SCROLL_ROWS || 3000);
const hs = new Hookscope();
const br = new Browser();
let page;
let bin;

before(async () => {
  await hs.start();
  bin = (await hs.createBin()).id;
  // The oldest first, alone, so that it is known to be at the bottom.
  await hs.capture(bin, { path: "/seed/oldest", body: "{}" });
  const idx = Array.from({ length: N - 1 }, (_, i) => i + 1);
  const s0 = Date.now();
  await pool(idx, 32, (i) => hs.capture(bin, { path: `/seed/${i}`, headers: { "Content-Type": "application/json" }, body: `{"i":${i}}` }));
  console.log(`# seeded ${N} requests in ${Date.now() - s0} ms`);
  page = await br.start();
});

after(async () => {
  await br.close();
  await hs.cleanup();
});

test(`${N} requests scroll with a small, constant number of DOM rows`, async (t) => {
  const g0 = Date.now();
  await page.goto(`${hs.url}/bins/${bin}`);
  await page.waitForSelector("[data-testid=request-list] .row");
  t.diagnostic(`first page on screen: ${Date.now() - g0} ms`);
  const first = await rowCount(page);
  // The header states the exact total before anything is scrolled.
  await page.waitForFunction((n) => document.querySelector("[data-testid=count]").textContent.replace(/[^0-9]/g, "") === String(n), N);
  assert.ok(first > 5 && first < 60, `${first} rows in the DOM at the top`);
  let loaded = 0;
  const t0 = Date.now();
  const deadline = Date.now() + 60000;
  while (Date.now() < deadline) {
    await page.locator("[data-testid=request-list]").evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await page.waitForTimeout(150);
    loaded = await page.evaluate(() => parseInt(document.querySelector("[data-testid=request-list]").getAttribute("data-loaded"), 10));
    if (loaded >= N) break;
  }
  assert.equal(loaded, N, "infinite scroll reached the oldest request");
  t.diagnostic(`scrolled through ${N} requests in ${Date.now() - t0} ms`);
  const rows = await rowCount(page);
  const heap = await page.evaluate(() => performance.memory?.usedJSHeapSize);
  if (heap) t.diagnostic(`JS heap with ${N} rows loaded: ${(heap / 1048576).toFixed(1)} MiB; DOM rows: ${rows}`);
  // A frame still comes promptly with everything loaded.
  const f0 = Date.now();
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  t.diagnostic(`two animation frames: ${Date.now() - f0} ms`);
  assert.ok(rows < 60, `${rows} rows in the DOM after scrolling through ${N}`);
  // The oldest request is at the bottom, and nothing is duplicated.
  await page.locator("[data-testid=request-list]").evaluate((el) => {
    el.scrollTop = el.scrollHeight;
  });
  await page.waitForSelector("[data-testid=request-list] .row:has-text('/seed/oldest')");
  const ids = await page.evaluate(() => [...document.querySelectorAll("[data-testid=request-list] .row")].map((r) => r.getAttribute("data-id")));
  assert.equal(new Set(ids).size, ids.length);
  t.diagnostic(`oldest row checked: ${Date.now() - t0} ms after the start of scrolling`);
  // Keyboard still works at the bottom: k from the oldest opens the one above it.
  await page.click("[data-testid=request-list] .row:has-text('/seed/oldest')");
  await page.waitForURL(/\/requests\//);
  const sorted = [...ids].sort();
  await page.locator("body").press("k");
  await page.locator("body").press("Enter");
  await page.waitForURL((u) => u.pathname.endsWith(sorted[1]));
  t.diagnostic(`keyboard checks done: ${Date.now() - t0} ms after the start of scrolling`);
});

test("no page errors", () => {
  assert.deepEqual(br.errors, []);
});
