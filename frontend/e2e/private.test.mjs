// Private bins: created from the UI, read with the owner token kept in this
// browser (Bearer for the API, ?token= for the live feed); another browser
// sees a "private" screen until it opens a read-only share link.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Browser, Hookscope } from "./lib.mjs";

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
  const link = page.locator("fieldset:has-text('Sharing') code.url").last();
  await link.waitFor();
  shareURL = await link.textContent();
  assert.match(shareURL, /\/bins\/[^?]+\?token=/);

  await page2.goto(shareURL.replace(/^https?:\/\/[^/]+/, hs.url));
  await page2.waitForSelector("[data-testid=request-list] .row:has-text('/private/1')");
  assert.equal(new URL(page2.url()).search, "", "token removed from the address bar");
  await page2.waitForSelector("[data-testid=live-state].live-live");
  await hs.capture(bin, { path: "/private/2" });
  await page2.waitForSelector("[data-testid=request-list] .row:has-text('/private/2')", { timeout: 2000 });
});

test("a read-only link cannot change settings", async (t) => {
  if (!bin) return t.skip("no private bin");
  await page2.goto(`${hs.url}/bins/${bin}/settings`, { waitUntil: "networkidle" });
  await page2.waitForSelector("[data-testid=settings]");
  // Type only once the form holds the loaded bin, so a late render cannot
  // reset the field and turn the save into a no-op.
  await page2.waitForFunction(() => document.querySelector("input[name=name]")?.value !== undefined);
  await page2.fill("input[name=name]", "hijacked");
  assert.equal(await page2.inputValue("input[name=name]"), "hijacked");
  const [resp] = await Promise.all([
    page2.waitForResponse((r) => r.request().method() === "PATCH"),
    page2.click("[data-testid=save-settings]"),
  ]);
  assert.equal(resp.status(), 403, "the server refuses a read-only token");
  assert.match(await page2.textContent(".toast-err", { timeout: 5000 }), /read-only/);
  const b = await (await fetch(`${hs.url}/api/v1/bins/${bin}`, { headers: { Authorization: `Bearer ${await page.evaluate((id) => JSON.parse(localStorage.getItem("hookscope.tokens"))[id], bin)}` } })).json();
  assert.notEqual(b.name, "hijacked");
});

test("no page errors", () => {
  assert.deepEqual(owner.errors, []);
  assert.deepEqual(other.errors, []);
});
