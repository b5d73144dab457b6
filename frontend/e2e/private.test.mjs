// Private bins: created from the UI, read with the owner token kept in this
// browser (Bearer for the API, ?token= for the live feed); another browser
// sees a "private" screen until it opens a read-only share link.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Browser, Hookscope, screenshot } from "./lib.mjs";

const hs = new Hookscope();
const owner = new Browser();
const other = new Browser();
let page;
let page2;
let bin;
let shareURL;

before(async () => {
  await hs.start();
  page = await owner.start();
  page2 = await other.start();
});

after(async () => {
  await owner.close();
  await other.close();
  await hs.cleanup();
});

test("a private bin created in the UI is readable by its creator, live included", async (t) => {
  const probe = await fetch(`${hs.url}/api/v1/bins`, { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"private":true}' });
  const created = await probe.json();
  if (!created.token) return t.skip("this hookscope has no private bins");
  await page.goto(`${hs.url}/`);
  await page.click("text=Options");
  await page.check("text=Private");
  await page.click("[data-testid=create-bin]");
  await page.waitForURL(/\/bins\/[^/?]+$/);
  bin = new URL(page.url()).pathname.split("/")[2];
  assert.ok(await page.evaluate((b) => JSON.parse(localStorage.getItem("hookscope.tokens"))[b], bin), "token kept in this browser");
  assert.equal((await fetch(`${hs.url}/api/v1/bins/${bin}`)).status, 401, "the API refuses without a token");
  await page.waitForSelector("[data-testid=live-state].live-live");
  await hs.capture(bin, { path: "/private/1", headers: { "Content-Type": "application/json" }, body: '{"secret":"stuff"}' });
  await page.waitForSelector("[data-testid=request-list] .row:has-text('/private/1')", { timeout: 2000 });
  await page.click("[data-testid=request-list] .row");
  await page.waitForSelector("[data-testid=json-view]");
});

test("another browser sees the private screen, then reads through a share link", async (t) => {
  if (!bin) return t.skip("no private bin");
  await page2.goto(`${hs.url}/bins/${bin}`);
  await page2.waitForSelector("text=This bin is private");
  assert.equal(await page2.locator("[data-testid=request-list]").count(), 0);

  await page.goto(`${hs.url}/bins/${bin}/settings`);
  await page.click("text=Create a read-only link (24h)");
  // The share link, shown under the button once the server answered. Not
  // "the last link of the fieldset": that is the owner link until the
  // answer renders, and a slow answer sent the other browser off with the
  // owner token (it then saw no read-only banner).
  const link = page.locator("fieldset:has-text('Sharing') button:has-text('Create a read-only link (24h)') + .urlbar code.url");
  await link.waitFor();
  shareURL = await link.textContent();
  assert.match(shareURL, /\/bins\/[^?]+\?token=/);
  const shareTok = new URL(shareURL).searchParams.get("token");
  assert.equal(JSON.parse(Buffer.from(shareTok.split(".")[1], "base64url").toString()).scope, "read", "the share link carries a read token");

  await page2.goto(shareURL.replace(/^https?:\/\/[^/]+/, hs.url));
  await page2.waitForSelector("[data-testid=request-list] .row:has-text('/private/1')");
  assert.equal(new URL(page2.url()).search, "", "token removed from the address bar");
  await page2.waitForSelector("[data-testid=live-state].live-live");
  await hs.capture(bin, { path: "/private/2" });
  await page2.waitForSelector("[data-testid=request-list] .row:has-text('/private/2')", { timeout: 2000 });
});

test("a read-only link shows no control that would fail, and the server refuses changes anyway", async (t) => {
  if (!bin) return t.skip("no private bin");
  await page2.goto(`${hs.url}/bins/${bin}`);
  // Seen once in CI: no banner within 30 s. Say what the page showed.
  await page2.waitForSelector("[data-testid=readonly-banner]").catch(async (e) => {
    throw new Error(`${e.message}\npage ${page2.url()} shows: ${(await page2.textContent("body")).slice(0, 500)}\nserver log: ${hs.log.join("").slice(-1500)}`);
  });
  const banner = await page2.textContent("[data-testid=readonly-banner]");
  assert.match(banner, /Read-only link · expires /);
  assert.equal(await page2.locator(".tabs a:has-text('Settings')").count(), 0, "no Settings tab");
  await page2.click("[data-testid=request-list] .row:has-text('/private/1')");
  await page2.waitForSelector("[data-testid=json-view]");
  assert.equal(await page2.locator("[data-testid=replay-toggle]").count(), 0, "no Replay");
  assert.equal(await page2.locator("[data-testid=copy-curl]").count(), 1, "reading tools stay");
  await screenshot(page2, "readonly-share");
  await page2.goto(`${hs.url}/bins/${bin}/settings`);
  await page2.waitForSelector("text=Settings need the bin's owner");
  assert.equal(await page2.locator("[data-testid=save-settings]").count(), 0);
  assert.equal(await page2.locator("text=Danger zone").count(), 0);
  await page2.goto(`${hs.url}/bins/${bin}/alerts`);
  await page2.waitForSelector("[data-testid=alerts]");
  assert.equal(await page2.locator("[data-testid=enable-defaults]").count(), 0);
  assert.equal(await page2.locator("text=New rule").count(), 0);
  // The server is the authority: the same token cannot PATCH.
  const st = await page2.evaluate(async (id) => {
    const tok = JSON.parse(localStorage.getItem("hookscope.tokens"))[id];
    const r = await fetch(`/api/v1/bins/${id}`, { method: "PATCH", headers: { Authorization: `Bearer ${tok}`, "Content-Type": "application/json" }, body: '{"name":"hijacked"}' });
    return r.status;
  }, bin);
  assert.equal(st, 403, "the server refuses a read-only token");
  const b = await (await fetch(`${hs.url}/api/v1/bins/${bin}`, { headers: { Authorization: `Bearer ${await page.evaluate((id) => JSON.parse(localStorage.getItem("hookscope.tokens"))[id], bin)}` } })).json();
  assert.notEqual(b.name, "hijacked");
});

test("the owner opening their own share link keeps the owner token", async (t) => {
  if (!bin) return t.skip("no private bin");
  const ownerTok = await page.evaluate((id) => JSON.parse(localStorage.getItem("hookscope.tokens"))[id], bin);
  await page.goto(shareURL.replace(/^https?:\/\/[^/]+/, hs.url));
  await page.waitForSelector("[data-testid=request-list] .row");
  assert.equal(await page.evaluate((id) => JSON.parse(localStorage.getItem("hookscope.tokens"))[id], bin), ownerTok);
  assert.equal(await page.locator("[data-testid=readonly-banner]").count(), 0);
  assert.equal(await page.locator(".tabs a:has-text('Settings')").count(), 1);
});

test("no page errors", () => {
  assert.deepEqual(owner.errors, []);
  assert.deepEqual(other.errors, []);
});
