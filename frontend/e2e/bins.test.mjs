// Bins you control (issue 18): the redaction, enforcement and retention
// settings in the settings form, what the inspector shows of a redacted or
// refused record, and the home page's list of the bins this browser owns
// (with request counts and last activity), which never shows a bin whose
// owner token the browser does not hold.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Browser, Hookscope, screenshot, sleep } from "./lib.mjs";

const hs = new Hookscope();
const br = new Browser();
let page;

before(async () => {
  await hs.start();
  page = await br.start();
});

after(async () => {
  await br.close();
  await hs.cleanup();
});

async function waitFor(fn, ms = 5000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await sleep(50);
  }
}

test("redaction, enforcement and retention are set in the settings form and applied at capture", async () => {
  const bin = (await hs.createBin({ name: "shop hooks" })).id;
  await page.goto(`${hs.url}/bins/${bin}/settings`);
  const form = page.locator("[data-testid=control]");
  await form.waitFor();
  await form.locator("textarea[name=redact_headers]").fill("X-Shop-Token");
  await form.locator("textarea[name=redact_paths]").fill("card.number\nitems.0.pin");
  await form.locator("textarea[name=allow_cidrs]").fill("127.0.0.0/8\n10.0.0.0/8");
  await form.locator("input[name=retention_age]").fill("72h");
  await form.locator("input[name=retention_max]").fill("500");
  await screenshot(page, "bin-control-settings");
  await page.click("[data-testid=save-settings]");
  await page.waitForSelector("text=Settings saved");

  const saved = (await hs.api("GET", `/api/v1/bins/${bin}`)).settings;
  assert.deepEqual(saved.redact, { headers: ["X-Shop-Token"], body_paths: ["card.number", "items.0.pin"] });
  assert.deepEqual(saved.allow_cidrs, ["127.0.0.0/8", "10.0.0.0/8"]);
  assert.deepEqual(saved.retention, { max_age: "72h", max_requests: 500 });

  // A delivery: the secret header and body fields are stored redacted (the
  // server-wide Authorization too), and the inspector says so.
  const r = await hs.capture(bin, {
    headers: { "Content-Type": "application/json", "X-Shop-Token": "tok_SECRET", Authorization: "Bearer SECRET2", "X-Keep": "visible" },
    body: JSON.stringify({ card: { number: "4242424242424242", cvc: "1" }, items: [{ pin: "9999" }], total: 12 }),
  });
  assert.equal(r.status, 200);
  const id = r.headers.get("x-hookscope-request-id");
  await waitFor(async () => (await fetch(`${hs.url}/api/v1/bins/${bin}/requests/${id}`, { headers: { Authorization: `Bearer ${hs.tokens.get(bin)}` } })).ok);
  await page.goto(`${hs.url}/bins/${bin}/requests/${id}`);
  const red = page.locator("[data-testid=redacted-block]");
  await red.waitFor();
  const redText = await red.textContent();
  for (const w of ["header X-Shop-Token", "header Authorization", "body card.number", "body items.0.pin"]) assert.ok(redText.includes(w), `${w} in ${redText}`);
  const html = await page.content();
  assert.ok(!html.includes("4242424242424242") && !html.includes("tok_SECRET") && !html.includes("9999"), "no secret reaches the inspector");
  assert.ok(html.includes("[redacted]"));
  await screenshot(page, "bin-control-redacted");

  // The form shows what is saved; metadata only and enforcement from the form.
  await page.goto(`${hs.url}/bins/${bin}/settings`);
  await form.waitFor();
  assert.equal(await form.locator("textarea[name=redact_paths]").inputValue(), "card.number\nitems.0.pin");
  assert.equal(await form.locator("input[name=retention_age]").inputValue(), "72h");
  await form.locator("input[name=metadata_only]").check();
  await form.locator("textarea[name=allow_cidrs]").fill("10.0.0.0/8");
  await page.click("[data-testid=save-settings]");
  await page.waitForSelector("text=Settings saved");
  const s2 = (await hs.api("GET", `/api/v1/bins/${bin}`)).settings;
  assert.equal(s2.redact.store_body, false);
  assert.deepEqual(s2.allow_cidrs, ["10.0.0.0/8"]);

  // 127.0.0.1 is now outside allow_cidrs: 403, recorded with the reason,
  // shown in the inspector.
  const refused = await hs.capture(bin, { body: "{}" });
  assert.equal(refused.status, 403);
  const rid = refused.headers.get("x-hookscope-request-id");
  await waitFor(async () => (await fetch(`${hs.url}/api/v1/bins/${bin}/requests/${rid}`, { headers: { Authorization: `Bearer ${hs.tokens.get(bin)}` } })).ok);
  await page.goto(`${hs.url}/bins/${bin}/requests/${rid}`);
  const blk = page.locator("[data-testid=refused-block]");
  await blk.waitFor();
  assert.match(await blk.textContent(), /403.*sender 127\.0\.0\.1 is not in allow_cidrs/);

  // A bad setting is refused with the server's message, nothing saved.
  await page.goto(`${hs.url}/bins/${bin}/settings`);
  await form.waitFor();
  await form.locator("textarea[name=redact_paths]").fill("items.#.pin");
  await page.click("[data-testid=save-settings]");
  await page.waitForSelector("text=/Save failed: redact: body_paths\\[0\\]/");
  assert.deepEqual((await hs.api("GET", `/api/v1/bins/${bin}`)).settings.redact.body_paths, ["card.number", "items.0.pin"]);
  assert.deepEqual(br.errors, []);
});

test("the home page lists the bins this browser owns, with counts and last activity, and nothing else", async () => {
  const mine = [];
  for (const name of ["payments prod", "github staging", "payments dev"]) mine.push((await hs.createBin({ name })).id);
  // A bin whose owner token this browser never gets (created by someone else).
  const foreign = await (await fetch(`${hs.url}/api/v1/bins`, { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"name":"payments secret"}' })).json();
  for (let i = 0; i < 4; i++) await hs.capture(mine[0], { body: `{"n":${i}}` });
  await hs.capture(mine[1], { body: "{}" });
  await waitFor(async () => (await hs.api("GET", `/api/v1/bins/${mine[0]}`)).request_count === 4);
  await waitFor(async () => (await hs.api("GET", `/api/v1/bins/${mine[1]}`)).request_count === 1);

  await page.goto(`${hs.url}/`);
  const list = page.locator("[data-testid=bin-list]");
  await list.waitFor();
  await waitFor(async () => (await list.locator(`[data-bin="${mine[0]}"]`).count()) === 1);
  const ids = await list.locator(".bin-item").evaluateAll((els) => els.map((e) => e.getAttribute("data-bin")));
  for (const b of mine) assert.ok(ids.includes(b), `${b} listed`);
  assert.ok(!ids.includes(foreign.id), "a bin this browser does not own is never listed");
  const row0 = list.locator(`[data-bin="${mine[0]}"]`);
  assert.equal((await row0.locator("[data-testid=bin-count]").textContent()).trim(), "4 requests");
  assert.match(await row0.locator("[data-testid=bin-last]").textContent(), /^last /);
  assert.equal((await list.locator(`[data-bin="${mine[2]}"] [data-testid=bin-last]`).textContent()).trim(), "no requests yet");
  await screenshot(page, "bin-list-home");

  // Search by name (on the server): only this browser's matching bins.
  await page.fill("[data-testid=bin-search]", "payments");
  await waitFor(async () => (await list.locator(".bin-item").count()) === 2);
  const found = await list.locator(".bin-item").evaluateAll((els) => els.map((e) => e.getAttribute("data-bin")));
  assert.deepEqual(found.sort(), [mine[0], mine[2]].sort());

  // Clicking a bin opens it.
  await page.fill("[data-testid=bin-search]", "");
  await waitFor(async () => (await list.locator(".bin-item").count()) >= 3);
  await list.locator(`[data-bin="${mine[1]}"] a`).click();
  await page.waitForURL(new RegExp(`/bins/${mine[1]}`));

  // A browser without tokens has no "Your bins" and never asks the server to list anything.
  const stranger = new Browser();
  const p2 = await stranger.start({ owner: false });
  try {
    await p2.goto(`${hs.url}/`);
    await p2.waitForSelector("text=Recent bins");
    assert.equal(await p2.locator("[data-testid=your-bins]").count(), 0);
    const r = await (await fetch(`${hs.url}/api/v1/bins`)).json();
    assert.deepEqual(r.bins, [], "the API lists nothing without tokens");
  } finally {
    await stranger.close();
  }
  assert.deepEqual(br.errors, []);
});
