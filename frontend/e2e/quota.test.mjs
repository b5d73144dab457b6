// Per-client quotas (issue 21) as the inspector shows them: a bin creation
// refused by HOOKSCOPE_QUOTA_CREATE_RATE says so in a toast, and a live feed
// refused by HOOKSCOPE_QUOTA_LIVE_PER_IP says why (the inspector asks the
// feed's URL with a plain GET, since a browser cannot read a refused
// handshake) and waits for Retry-After before it tries again.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Browser, Hookscope, screenshot } from "./lib.mjs";

// Quotas stay open (lib.mjs) except the one each server tests.
const hsCreate = new Hookscope({ HOOKSCOPE_QUOTA_CREATE_RATE: "1/m" });
const hsLive = new Hookscope({ HOOKSCOPE_QUOTA_LIVE_PER_IP: "1" });
const br = new Browser();
let page;

before(async () => {
  await hsCreate.start();
  await hsLive.start();
  page = await br.start();
});

after(async () => {
  await br.close();
  await hsCreate.cleanup();
  await hsLive.cleanup();
});

test("a second bin created within the create quota's minute shows the quota's message", async () => {
  await page.goto(`${hsCreate.url}/`);
  await page.click("[data-testid=create-bin]");
  await page.waitForURL(/\/bins\/[^/?]+$/);
  await page.goto(`${hsCreate.url}/`);
  await page.click("[data-testid=create-bin]");
  const t = page.locator(".toast-err", { hasText: "Could not create a bin" });
  await t.waitFor({ timeout: 5000 });
  assert.match(await t.textContent(), /Could not create a bin: too many bins created; retry later/);
  assert.equal(new URL(page.url()).pathname, "/", "no bin page for a refused creation");
  assert.deepEqual(br.errors, []);
});

test("a second page on a bin says its live feed was refused, then connects once the first closes", async () => {
  const bin = (await hsLive.createBin({ name: "quota" })).id;
  await page.goto(`${hsLive.url}/bins/${bin}`);
  await page.waitForSelector("[data-testid=live-state].live-live");

  const page2 = await br.ctx.newPage();
  br.watch(page2);
  let attempts = 0;
  page2.on("websocket", (ws) => {
    if (ws.url().includes(`/api/v1/bins/${bin}/live`)) attempts++;
  });
  await page2.goto(`${hsLive.url}/bins/${bin}`);
  const banner = page2.locator("[data-testid=live-refused]");
  await banner.waitFor({ timeout: 5000 });
  assert.match(await banner.textContent(), /^Live feed refused: too many live feeds open from your address \(limit 1\); close one; retrying in 5 s$/);
  await page2.waitForSelector("[data-testid=live-state].live-refused");
  assert.equal(await page2.locator("[data-testid=live-state] .live-label").textContent(), "refused");
  await screenshot(page2, "live-refused");
  // The first page still has its feed.
  assert.equal(await page.locator("[data-testid=live-state].live-live").count(), 1);

  // The first page leaves: the second connects at its next attempt, which
  // Retry-After (5 s) put off; the usual backoff (250 ms doubling, capped
  // at 3 s) would have made four or more attempts by then.
  await page.goto("about:blank");
  await page2.waitForSelector("[data-testid=live-state].live-live", { timeout: 15000 });
  assert.equal(await banner.count(), 0, "the refusal is gone once the feed opens");
  assert.ok(attempts >= 2 && attempts <= 3, `attempts before the feed opened: ${attempts}`);
  await hsLive.capture(bin, { path: "/after-refusal" });
  await page2.waitForSelector("[data-testid=request-list] .row:has-text('/after-refusal')", { timeout: 5000 });
  await page2.close();
  assert.deepEqual(br.errors, []);
});
