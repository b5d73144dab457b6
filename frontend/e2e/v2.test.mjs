// Inspector v2 (issue 20): follow the newest, state in the URL, exact
// totals, deep links located in the list, the one-line detail header, JSON
// up to the body limit with copy value/path and find, provider/event rows,
// refused captures, the smaller settings items. Desktop and phone.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import http from "node:http";
import { Browser, Hookscope, pool, screenshot, sleep } from "./lib.mjs";

// Private targets: the forward tests relay to a receiver on loopback.
const hs = new Hookscope({ HOOKSCOPE_ALLOW_PRIVATE_TARGETS: "true" });
const br = new Browser();
let page;

before(async () => {
  await hs.start();
  page = await br.start();
  await br.ctx.grantPermissions(["clipboard-read", "clipboard-write"], { origin: hs.url });
});

after(async () => {
  await br.close();
  await hs.cleanup();
});

const rows = (p = page) => p.locator("[data-testid=request-list] .row");
const openId = () => new URL(page.url()).pathname.split("/requests/")[1];
// stored waits until the store lists n requests of bin (captures are
// answered once durable in the capture path; the list reads the store).
async function stored(bin, n, h = hs) {
  const end = Date.now() + 10000;
  for (;;) {
    const c = await h.api("GET", `/api/v1/bins/${bin}/requests/count`);
    if (c.count >= n || Date.now() > end) return (await h.api("GET", `/api/v1/bins/${bin}/requests?limit=${Math.min(n, 1000)}`)).requests;
    await sleep(50);
  }
}
const newest = async (bin, n = 1) => (await stored(bin, n))[0].id;

test("follow newest: on for an empty bin, opens each new request, j/k open directly", async () => {
  const bin = (await hs.createBin({ name: "follow" })).id;
  await page.goto(`${hs.url}/bins/${bin}`);
  await page.waitForSelector("[data-testid=live-state].live-live");
  assert.equal(await page.getAttribute("[data-testid=follow]", "aria-pressed"), "true", "on by default for an empty bin");
  await hs.capture(bin, { path: "/first", headers: { "Content-Type": "application/json" }, body: '{"n":1}' });
  await page.waitForURL(/\/requests\//, { timeout: 3000 });
  assert.equal(openId(), await newest(bin, 1));
  await page.waitForSelector("[data-testid=detail-head]:has-text('/first')");
  await hs.capture(bin, { path: "/second" });
  await page.waitForSelector("[data-testid=detail-head]:has-text('/second')", { timeout: 3000 });
  assert.equal(openId(), await newest(bin, 2));
  await screenshot(page, "follow-newest");
  // j opens the next (older) one without Enter and ends following.
  await page.locator("body").press("j");
  await page.waitForSelector("[data-testid=detail-head]:has-text('/first')");
  assert.equal(await page.getAttribute("[data-testid=follow]", "aria-pressed"), "false");
  await hs.capture(bin, { path: "/third" });
  await page.waitForSelector("[data-testid=request-list] .row:has-text('/third')");
  assert.ok((await page.textContent("[data-testid=detail-head]")).includes("/first"), "not following any more");
  await page.locator("body").press("k");
  await page.waitForSelector("[data-testid=detail-head]:has-text('/second')");
  await page.locator("body").press("k");
  await page.waitForSelector("[data-testid=detail-head]:has-text('/third')");
  // A bin that already has requests starts without following.
  await page.goto(`${hs.url}/bins/${bin}`);
  await page.waitForSelector("[data-testid=request-list] .row");
  assert.equal(await page.getAttribute("[data-testid=follow]", "aria-pressed"), "false");
});

test("scrolled away: an 'N new ↑' marker and the unseen count in the tab title", async () => {
  const bin = (await hs.createBin({ name: "marker" })).id;
  await pool(Array.from({ length: 40 }, (_, i) => i), 8, (i) => hs.capture(bin, { path: `/seed/${i}` }));
  await stored(bin, 40);
  await page.goto(`${hs.url}/bins/${bin}`);
  await page.waitForSelector("[data-testid=live-state].live-live");
  await page.waitForFunction(() => document.querySelector("[data-testid=count]")?.textContent === "40 requests");
  assert.equal(await page.title(), "marker · hookscope");
  await page.locator("[data-testid=request-list]").evaluate((el) => (el.scrollTop = 600));
  const topBefore = await page.locator("[data-testid=request-list] .row").first().getAttribute("data-id");
  for (let i = 0; i < 3; i++) await hs.capture(bin, { path: `/new/${i}` });
  await page.waitForSelector("[data-testid=new-marker]:has-text('3 new ↑')", { timeout: 3000 });
  await page.waitForFunction(() => document.title === "(3) marker · hookscope");
  assert.equal(await page.textContent("[data-testid=count]"), "43 requests");
  // The rows under the eyes did not move.
  assert.ok((await page.locator("[data-testid=request-list]").evaluate((el) => el.scrollTop)) >= 600);
  await screenshot(page, "new-marker");
  await page.click("[data-testid=new-marker]");
  await page.waitForFunction(() => document.querySelector("[data-testid=request-list]").scrollTop === 0);
  await page.waitForSelector("[data-testid=new-marker]", { state: "detached" });
  await page.waitForFunction(() => document.title === "marker · hookscope");
  assert.notEqual(await page.locator("[data-testid=request-list] .row").first().getAttribute("data-id"), topBefore);
  // A hidden tab counts arrivals in the title; coming back clears it.
  await page.evaluate(() => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
    document.dispatchEvent(new Event("visibilitychange"));
  });
  await hs.capture(bin, { path: "/while-hidden/1" });
  await hs.capture(bin, { path: "/while-hidden/2" });
  await page.waitForFunction(() => document.title === "(2) marker · hookscope", null, { timeout: 3000 });
  await page.evaluate(() => {
    Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
    document.dispatchEvent(new Event("visibilitychange"));
  });
  await page.waitForFunction(() => document.title === "marker · hookscope");
});

test("phone: following keeps the list in view and moves the cursor to the newest", async () => {
  const bin = (await hs.createBin({ name: "phone-follow" })).id;
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await page.goto(`${hs.url}/bins/${bin}`);
    await page.waitForSelector("[data-testid=live-state].live-live");
    assert.equal(await page.getAttribute("[data-testid=follow]", "aria-pressed"), "true");
    await hs.capture(bin, { path: "/phone/1" });
    await page.waitForSelector("[data-testid=request-list] .row.active:has-text('/phone/1')", { timeout: 3000 });
    assert.ok(await page.isVisible("[data-testid=request-list]"), "the list stays on screen");
    assert.ok(!page.url().includes("/requests/"));
    // Header, tabs and toolbar leave most of the screen to the list.
    const listTop = await page.locator("[data-testid=request-list]").evaluate((el) => el.getBoundingClientRect().top);
    assert.ok(listTop < 844 * 0.3, `the list starts at ${listTop}px of 844`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
    await screenshot(page, "phone-follow");
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
  }
});

let urlBin;
let oldId;
test("search, filters, time range, open request and sub-tab live in the URL and survive a reload", async () => {
  urlBin = (await hs.createBin({ name: "url-state" })).id;
  await hs.capture(urlBin, { method: "PUT", path: "/orders/old", headers: { "Content-Type": "application/json" }, body: '{"order":"old"}' });
  oldId = await newest(urlBin, 1);
  await pool(Array.from({ length: 1200 }, (_, i) => i), 16, (i) =>
    hs.capture(urlBin, { method: i % 4 === 0 ? "PUT" : "POST", path: `/orders/${i}`, headers: { "Content-Type": "application/json" }, body: `{"order":${i}}` }),
  );
  await stored(urlBin, 1201);
  await page.goto(`${hs.url}/bins/${urlBin}`);
  // Exact totals, not "100+".
  await page.waitForFunction(() => document.querySelector("[data-testid=count]")?.textContent === "1,201 requests");
  await page.fill("#search", "orders/1");
  await page.waitForURL(/[?&]q=orders%2F1/);
  await page.click("text=Filters");
  await page.selectOption("[aria-label='Method filter']", "PUT");
  await page.waitForURL(/method=PUT/);
  // PUT and path containing orders/1: 1, 10..19, 100..199, 1000..1199 with i%4==0.
  const want = Array.from({ length: 1200 }, (_, i) => i).filter((i) => i % 4 === 0 && `/orders/${i}`.includes("orders/1")).length;
  await page.waitForFunction((n) => document.querySelector("[data-testid=count]")?.textContent === `${n} requests`, want);
  await page.click("[data-testid=preset-24h]");
  await page.waitForURL(/since=/);
  const since = await page.inputValue("[aria-label=Since]");
  assert.match(since, /T\d\d:\d\d:\d\d$/, "the time picker shows seconds");
  await rows().first().click();
  await page.waitForURL(/\/requests\/.*[?&]q=orders%2F1/);
  await page.click("[data-testid=tab-headers]");
  await page.waitForURL(/tab=headers/);
  const url = page.url();
  for (const k of ["q=", "method=PUT", "since=", "tab=headers"]) assert.ok(url.includes(k), `${k} in ${url}`);
  await page.reload();
  await page.waitForSelector("[data-testid=headers-table]");
  assert.equal(await page.inputValue("#search"), "orders/1");
  assert.equal(await page.inputValue("[aria-label='Method filter']"), "PUT");
  assert.equal(await page.inputValue("[aria-label=Since]"), since);
  await page.waitForFunction((n) => document.querySelector("[data-testid=count]")?.textContent === `${n} requests`, want);
  assert.equal(await page.getAttribute("[data-testid=tab-headers]", "aria-selected"), "true");
  await screenshot(page, "url-state");
});

test("a deep link to an old request scrolls the list to it", async () => {
  await page.goto(`${hs.url}/bins/${urlBin}/requests/${oldId}`);
  await page.waitForSelector("[data-testid=detail-head]:has-text('/orders/old')");
  const row = page.locator(`[data-testid=request-list] .row[data-id="${oldId}"]`);
  await row.waitFor({ timeout: 10000 }).catch(async (e) => {
    console.log(await page.evaluate((id) => { const l = document.querySelector("[data-testid=request-list]"); const r = l.querySelector(`.row[data-id="${id}"]`); return { st: l.scrollTop, sh: l.scrollHeight, ch: l.clientHeight, row: !!r, loaded: l.getAttribute("data-loaded"), n: l.querySelectorAll(".row").length, url: location.href }; }, oldId));
    throw e;
  });
  const inView = await page.evaluate((id) => {
    const list = document.querySelector("[data-testid=request-list]").getBoundingClientRect();
    const r = document.querySelector(`[data-testid=request-list] .row[data-id="${id}"]`).getBoundingClientRect();
    // Within a pixel: the list may start at a fractional offset (a toolbar
    // of fractional height) while scrolling works in whole pixels.
    return r.top >= list.top - 1 && r.bottom <= list.bottom + 1;
  }, oldId);
  assert.ok(inView, "the linked row is in view");
  assert.ok(await row.evaluate((el) => el.classList.contains("open")));
  await screenshot(page, "deep-link-located");
});

let detailBin;
test("detail: one-line header, blocks only when they apply, copy value and path", async () => {
  detailBin = (await hs.createBin({ name: "detail" })).id;
  await hs.capture(detailBin, {
    path: "/github",
    headers: { "Content-Type": "application/json", "X-GitHub-Event": "push" },
    body: JSON.stringify({ ref: "refs/heads/main", data: { object: { amount: 4200, currency: "eur" } }, "odd key": [1, 2] }),
  });
  await stored(detailBin, 1);
  await page.goto(`${hs.url}/bins/${detailBin}`);
  await rows().first().click();
  await page.waitForSelector("[data-testid=json-view]");
  const head = (await page.textContent("[data-testid=detail-head]")).replace(/\s+/g, " ").replace(/ ?· ?/g, " · ");
  assert.match(head, /POST \/github · 200 in [\d.]+ (µs|ms) · \d+ B · 127\.0\.0\.1 · \d\d:\d\d:\d\d · github · push/);
  const h = await page.locator("[data-testid=detail-head]").evaluate((el) => el.getBoundingClientRect().height);
  assert.ok(h < 32, `the header is one line (${h}px)`);
  for (const b of ["sig-verdict", "lag-block", "fwd-block"]) assert.equal(await page.locator(`[data-testid=${b}]`).count(), 0, `${b} only when it applies`);
  // The row names the provider and the event.
  assert.equal((await page.textContent("[data-testid=request-list] .row [data-testid=provider]")).trim(), "github · push");
  // Copy path and value of a JSON node.
  await page.click("[data-testid=json-view] .json-line:has-text('4200')");
  assert.equal(await page.textContent("[data-testid=json-selected] code"), "data.object.amount");
  await page.click("[data-testid=copy-path]");
  await page.waitForFunction(async () => (await navigator.clipboard.readText()) === "data.object.amount");
  await page.click("[data-testid=copy-value]");
  await page.waitForFunction(async () => (await navigator.clipboard.readText()) === "4200");
  await page.click("[data-testid=json-view] .json-line:has-text('odd key')");
  assert.equal(await page.textContent("[data-testid=json-selected] code"), '["odd key"]');
  await page.click("[data-testid=copy-value]");
  await page.waitForFunction(async () => JSON.parse(await navigator.clipboard.readText()).length === 2);
  await screenshot(page, "request-detail-v2");
  // Phone: the header wraps but stays above the body, nothing overflows.
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await page.waitForSelector("[data-testid=detail-head]");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
    await screenshot(page, "phone-request-detail-v2");
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
  }
});

test("find in body and highlighted search hits", async () => {
  await page.goto(`${hs.url}/bins/${detailBin}?q=eur`);
  await page.waitForSelector("[data-testid=request-list] .row");
  await rows().first().click();
  await page.waitForSelector("[data-testid=json-view]");
  // The search term is carried into the body's find box and marked.
  assert.equal(await page.inputValue("[data-testid=find]"), "eur");
  await page.waitForSelector("[data-testid=find-count]:has-text('1 match')");
  assert.equal(await page.textContent("[data-testid=json-view] mark.hit"), "eur");
  await page.fill("[data-testid=find]", "refs/heads");
  // "1 match" already shows for the previous term: wait until the new term
  // is applied (after the find box's debounce) and marked.
  await page.waitForSelector("[data-testid=json-view] mark.hit:has-text('refs/heads')");
  await page.waitForSelector("[data-testid=find-count]:has-text('1 match')");
  await page.press("[data-testid=find]", "Enter");
  await page.waitForSelector("[data-testid=json-view] mark.hit.current");
  await page.click("[data-testid=view-raw]");
  await page.waitForSelector("[data-testid=body-text] mark.hit");
  await page.fill("[data-testid=find]", "nothing-like-this");
  await page.waitForSelector("[data-testid=find-count]:has-text('0 matches')");
  // Hits in the list's paths are marked too.
  await page.goto(`${hs.url}/bins/${detailBin}?q=git`);
  await page.waitForSelector("[data-testid=request-list] .row mark.hit");
  assert.equal(await page.textContent("[data-testid=request-list] .row .path mark.hit"), "git");
  await screenshot(page, "search-hits");
});

test("a 2 MB JSON body gets a tree; invalid JSON says why it is text", async () => {
  const bin = (await hs.createBin({ name: "big-json" })).id;
  const items = [];
  for (let i = 0; items.length * 60 < 2.03e6; i++) items.push({ id: i, name: `item-${i}`, tags: ["a", "b"], price: i * 1.5 });
  const big = JSON.stringify({ items });
  assert.ok(big.length > 2e6, `${big.length} bytes`);
  await hs.capture(bin, { path: "/big", headers: { "Content-Type": "application/json" }, body: big });
  await hs.capture(bin, { path: "/broken", headers: { "Content-Type": "application/json" }, body: '{"a":1,' });
  await stored(bin, 2);
  await page.goto(`${hs.url}/bins/${bin}`);
  await page.click("[data-testid=request-list] .row:has-text('/big')");
  await page.click("text=Load body");
  await page.waitForSelector("[data-testid=json-view]", { timeout: 10000 });
  assert.equal(await page.locator("[data-testid=body-note]").count(), 0);
  assert.match(await page.textContent("[data-testid=json-view]"), /items \d+ items|\d+ items/);
  await page.click("[data-testid=view-pretty]");
  assert.match(await page.textContent("[data-testid=body-text]"), /"items": \[/);
  await screenshot(page, "big-json-tree");
  await page.click("[data-testid=request-list] .row:has-text('/broken')");
  await page.waitForSelector("[data-testid=body-note]");
  assert.match(await page.textContent("[data-testid=body-note]"), /Not valid JSON/);
});

test("rows name the provider from the signature scheme or well-known headers", async () => {
  const bin = (await hs.createBin({ name: "providers" })).id;
  await hs.capture(bin, { path: "/pay", headers: { "Stripe-Signature": "t=1,v1=x", "Content-Type": "application/json" }, body: "{}" });
  await hs.capture(bin, { path: "/shop", headers: { "X-Shopify-Topic": "orders/create", "Content-Type": "application/json" }, body: "{}" });
  await hs.capture(bin, { path: "/plain" });
  await stored(bin, 3);
  await page.goto(`${hs.url}/bins/${bin}`);
  await page.waitForSelector("[data-testid=request-list] .row:has-text('/plain')");
  assert.equal((await page.textContent(".row:has-text('/pay') [data-testid=provider]")).trim(), "stripe");
  assert.equal((await page.textContent(".row:has-text('/shop') [data-testid=provider]")).trim(), "shopify · orders/create");
  assert.equal(await page.locator(".row:has-text('/plain') [data-testid=provider]").count(), 0);
  await screenshot(page, "rows-providers");
});

test("settings: discord and sendgrid schemes, rule headers, a JSON rule body answers application/json", async () => {
  // Private: its owner token is kept in this browser (the warning is about it).
  const created = await hs.createBin({ name: "rules", private: true });
  const bin = created.id;
  await page.goto(`${hs.url}/`);
  await page.evaluate(([b, t]) => localStorage.setItem("hookscope.tokens", JSON.stringify({ ...JSON.parse(localStorage.getItem("hookscope.tokens") || "{}"), [b]: t })), [bin, created.token]);
  await page.goto(`${hs.url}/bins/${bin}/settings`);
  await page.waitForSelector("[data-testid=settings]");
  const schemes = await page.locator("select[name=scheme] option").allTextContents();
  for (const s of ["discord", "sendgrid"]) assert.ok(schemes.includes(s), `${s} in ${schemes}`);
  // Placeholders do not look like set values.
  const ph = await page.evaluate(() => getComputedStyle(document.querySelector("input[name=forward_url]"), "::placeholder").fontStyle);
  assert.equal(ph, "italic");
  await page.click("text=Add rule");
  await page.fill("[aria-label='Rule path prefix']", "/json");
  await page.fill("[aria-label='Rule status']", "202");
  await page.fill("[aria-label='Rule body']", '{"ok":true}');
  await page.fill("[aria-label='Rule headers']", "X-Rule: yes");
  await page.click("[data-testid=save-settings]");
  await page.waitForSelector("text=Settings saved");
  const r = await hs.capture(bin, { path: "/json/x" });
  assert.equal(r.status, 202);
  assert.equal(r.headers.get("x-rule"), "yes");
  assert.match(r.headers.get("content-type"), /^application\/json/);
  // The owner-token warning.
  assert.match(await page.textContent("[data-testid=storage-warn]"), /Clearing its storage/);
  await screenshot(page, "settings-rules");
});

test("home: the Private checkbox sits by its label, and a storage warning", async () => {
  await page.goto(`${hs.url}/`);
  await page.click("text=Options");
  const gap = await page.evaluate(() => {
    const label = [...document.querySelectorAll("label.check")].find((l) => l.textContent.includes("Private"));
    const box = label.querySelector("input").getBoundingClientRect();
    const r = document.createRange();
    r.selectNodeContents(label);
    const text = [...r.getClientRects()].filter((x) => x.left > box.right - 1).map((x) => x.left);
    return Math.min(...text) - box.right;
  });
  assert.ok(gap >= 0 && gap < 20, `the label text starts ${gap}px after the checkbox`);
  assert.match(await page.textContent("[data-testid=storage-warn]"), /clearing its storage/i);
  await screenshot(page, "home-options");
});

test("phone: the alert rules table stays inside its card", async () => {
  const bin = (await hs.createBin({ name: "alerts-phone" })).id;
  await hs.api("POST", "/api/v1/alerts/defaults", { bin_id: bin, channels: [{ type: "webhook", url: "https://example.com/hook" }] }).catch(() => null);
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await page.goto(`${hs.url}/bins/${bin}/alerts`);
    await page.waitForSelector("[data-testid=rules-table]");
    const r = await page.evaluate(() => {
      const t = document.querySelector("[data-testid=rules-table]");
      const card = t.closest(".card").getBoundingClientRect();
      const btns = [...t.querySelectorAll("button, input[type=checkbox]")].map((b) => b.getBoundingClientRect());
      return { over: t.scrollWidth - t.closest(".card").clientWidth, outside: btns.filter((b) => b.right > card.right || b.left < card.left).length, n: btns.length };
    });
    assert.ok(r.n > 0);
    assert.ok(r.over <= 0, `table ${r.over}px wider than its card`);
    assert.equal(r.outside, 0, "On/Test/✕ are on screen");
    await screenshot(page, "phone-alert-rules");
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
  }
});

test("alerts are pushed over the live connection: a dot on another tab, the Alerts tab updates without polling (desktop and phone)", async () => {
  const bin = (await hs.createBin({ name: "pushed-alerts" })).id;
  await hs.api("PATCH", `/api/v1/bins/${bin}`, { response: { status: 500 } });
  await hs.api("POST", "/api/v1/alerts/rules", {
    name: "pushed failures", bin_id: bin, kind: "failure_spike",
    params: { window: "2s", min_count: 3, threshold: 0.5 }, channels: [], cooldown: "1s", enabled: true,
  });
  const calls = [];
  const onReq = (r) => r.url().includes("/api/v1/alerts/events") && calls.push(Date.now());
  page.on("request", onReq);
  try {
    // The Stats tab: no requests feed there, a feed of alert events alone.
    const wsP = page.waitForEvent("websocket", { predicate: (w) => w.url().includes(`/bins/${bin}/live`) && w.url().includes("only=alerts") });
    await page.goto(`${hs.url}/bins/${bin}/stats`);
    const ws = await wsP;
    await page.waitForFunction((b) => localStorage.getItem(`hookscope.alerts-seen.${b}`) !== null, bin);
    assert.equal(await page.locator("[data-testid=alert-dot]").count(), 0);
    // Idle: nothing asks for the events (the tab used to poll every 5 s).
    const before = calls.length;
    await sleep(5500);
    assert.equal(calls.length, before, "no polling of /api/v1/alerts/events while idle");
    const frame = ws.waitForEvent("framereceived", { predicate: (f) => String(f.payload).includes('"type":"alert"') && String(f.payload).includes('"state":"firing"'), timeout: 25000 });
    for (let i = 0; i < 6; i++) await hs.capture(bin, { path: `/fail/${i}` });
    const f = JSON.parse(String((await frame).payload));
    assert.equal(f.alert.bin_id, bin, "the frame is about this bin");
    await page.waitForSelector("[data-testid=alert-dot]", { timeout: 5000 });
    await screenshot(page, "alert-pushed-dot");
    // Phone: the Alerts tab shows the firing event, then the resolve arrives
    // on the open tab without a reload.
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.click(".tabs a:has-text('Alerts')");
      await page.waitForSelector(".events .state-firing");
      await page.waitForSelector("[data-testid=alert-dot]", { state: "detached" });
      const url = page.url();
      await page.waitForSelector(".events .state-resolved", { timeout: 30000 });
      assert.equal(page.url(), url, "no navigation");
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
      await screenshot(page, "phone-alert-pushed");
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  } finally {
    page.off("request", onReq);
  }
});

test("stats: the range is in the URL and the status/method charts open the matching filtered list", async () => {
  const bin = (await hs.createBin({ name: "charts" })).id;
  for (let i = 0; i < 3; i++) await hs.capture(bin, { method: "GET", path: `/get/${i}` });
  for (let i = 0; i < 5; i++) await hs.capture(bin, { path: `/post/${i}` });
  await stored(bin, 8);
  await page.goto(`${hs.url}/bins/${bin}/stats?range=24h`);
  await page.waitForSelector("[data-testid=method-chart] canvas");
  assert.equal(await page.getAttribute(".stats-head .seg button.active", "aria-selected"), "true");
  assert.equal((await page.textContent(".stats-head .seg button.active")).trim(), "24 hours");
  await page.click(".stats-head .seg button:has-text('15 min')");
  await page.waitForURL(/range=15m/);
  // A bar of the method chart (the canvas, not only the links under it).
  await page.waitForSelector("[data-testid=method-chart] .u-over");
  await page.locator("[data-testid=method-chart] .u-over").scrollIntoViewIfNeeded();
  const box = await page.locator("[data-testid=method-chart] .u-over").boundingBox();
  // Two bars (GET, POST) over x from -0.5 to 1.5: GET's centre is at a quarter.
  await page.mouse.click(box.x + box.width * 0.25, box.y + box.height - 5);
  await page.waitForURL(/\/bins\/[^/]+\?.*method=GET/);
  await page.waitForFunction(() => document.querySelector("[data-testid=count]")?.textContent === "3 requests");
  assert.equal(await rows().count(), 3);
  await screenshot(page, "chart-opened-list");
  // The links under a chart do the same; and a bucket of the series opens its window.
  await page.goto(`${hs.url}/bins/${bin}/stats`);
  await page.click("[data-testid=status-link-200]");
  await page.waitForURL(/status=200/);
  await page.waitForFunction(() => document.querySelector("[data-testid=count]")?.textContent === "8 requests");
  // A click on a bucket of the series chart: the next test.
});

test("stats: a click on a bucket of the requests chart opens the list of that time window", async () => {
  const bin = (await hs.createBin({ name: "bucket-click" })).id;
  // Not across a minute boundary: the captures share one bucket, which is
  // at least 8 s wide on the chart (a bucket of a few seconds is a couple
  // of pixels at the right edge).
  if (new Date().getSeconds() > 45) await sleep((61 - new Date().getSeconds()) * 1000);
  if (new Date().getSeconds() < 8) await sleep((8 - new Date().getSeconds()) * 1000);
  for (let i = 0; i < 4; i++) await hs.capture(bin, { path: `/bucket/${i}` });
  const minute = Math.floor(Date.now() / 60000) * 60000;
  await stored(bin, 4);
  await page.goto(`${hs.url}/bins/${bin}/stats?range=15m`);
  await page.waitForSelector("[data-testid=series-chart] .u-over");
  const over = page.locator("[data-testid=series-chart] .u-over");
  await over.scrollIntoViewIfNeeded();
  const box = await over.boundingBox();
  // The x axis spans the 15 minutes up to now: click the middle of the
  // visible part of the captures' one-minute bucket (the newest, or the one
  // before it if a minute turned since).
  const now = Date.now();
  const mid = (minute + Math.min(now, minute + 60000)) / 2;
  await page.mouse.click(box.x + box.width * (1 - (now - mid) / (15 * 60000)), box.y + box.height / 2);
  await page.waitForURL(/\/bins\/[^/]+\?.*since=.*until=/);
  const u = new URL(page.url());
  const since = Date.parse(u.searchParams.get("since"));
  const until = Date.parse(u.searchParams.get("until"));
  assert.equal(since % 60000, 0, "the bucket starts on a minute");
  assert.ok(until > since && until - since <= 60000, `one bucket: ${u.searchParams.get("since")} .. ${u.searchParams.get("until")}`);
  await page.waitForFunction(() => document.querySelector("[data-testid=count]")?.textContent === "4 requests");
  // The count and the page are two requests: wait for the rows too.
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=request-list] .row").length === 4);
  assert.equal(await rows().count(), 4);
  // The filter bar shows the window.
  assert.ok(await page.isVisible("[aria-label=Since]"));
  assert.notEqual(await page.inputValue("[aria-label=Since]"), "");
  assert.notEqual(await page.inputValue("[aria-label=Until]"), "");
  await screenshot(page, "chart-bucket-opened-list");
});

test("stats: the forward target's latency, apart from hookscope's own (desktop and phone)", async () => {
  const receiver = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => setTimeout(() => res.end("ok"), 120));
  });
  await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
  try {
    const bin = (await hs.createBin({ name: "fwd-latency" })).id;
    await hs.api("PATCH", `/api/v1/bins/${bin}`, { forward: { url: `http://127.0.0.1:${receiver.address().port}/in`, mode: "async" } });
    for (let i = 0; i < 5; i++) await hs.capture(bin, { path: `/fwd/${i}`, headers: { "Content-Type": "application/json" }, body: `{"i":${i}}` });
    // The forward outcome is recorded once the target answered.
    const end = Date.now() + 15000;
    let st;
    for (;;) {
      st = await hs.api("GET", `/api/v1/bins/${bin}/stats?since=${encodeURIComponent(new Date(Date.now() - 3600e3).toISOString())}&step=1m`);
      if (st.forwarded >= 5 || Date.now() > end) break;
      await sleep(200);
    }
    assert.equal(st.forwarded, 5, JSON.stringify(st));
    assert.ok(st.forward_latency_us.p50 >= 120000, `target p50 ${st.forward_latency_us.p50} µs`);
    assert.ok(st.latency_us.p95 < 120000, `hookscope's own p95 ${st.latency_us.p95} µs is not the target's`);
    assert.ok(st.series.some((p) => p.forwarded > 0 && p.p95_forward_latency_us >= 120000));
    await page.goto(`${hs.url}/bins/${bin}/stats`);
    await page.waitForSelector("[data-testid=forward-stats] [data-testid=forward-chart] canvas");
    const text = await page.textContent("[data-testid=forward-stats]");
    assert.match(text, /Forwarded \(answered\)\s*5/);
    assert.match(text, /target p50\s*1\d\d(\.\d+)? ms/);
    await page.locator("[data-testid=forward-stats]").scrollIntoViewIfNeeded();
    await screenshot(page, "stats-forward-latency");
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await page.waitForSelector("[data-testid=forward-chart] canvas");
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
      await page.locator("[data-testid=forward-stats]").scrollIntoViewIfNeeded();
      await screenshot(page, "phone-stats-forward-latency");
    } finally {
      await page.setViewportSize({ width: 1280, height: 800 });
    }
  } finally {
    receiver.close();
  }
});

test("re-verify: a delivery captured before the bin had a secret is checked with the current one (desktop and phone)", async () => {
  const bin = (await hs.createBin({ name: "reverify" })).id;
  const secret = "gh-secret-0123";
  const body = '{"action":"opened","number":42}';
  const sign = (key) => "sha256=" + crypto.createHmac("sha256", key).update(body).digest("hex");
  await hs.capture(bin, { path: "/gh/good", headers: { "Content-Type": "application/json", "X-GitHub-Event": "pull_request", "X-Hub-Signature-256": sign(secret) }, body });
  await hs.capture(bin, { path: "/gh/forged", headers: { "Content-Type": "application/json", "X-GitHub-Event": "pull_request", "X-Hub-Signature-256": sign("not-it") }, body });
  await stored(bin, 2);
  await page.goto(`${hs.url}/bins/${bin}`);
  await page.click("[data-testid=request-list] .row:has-text('/gh/good')");
  await page.waitForSelector("[data-testid=detail-head]:has-text('/gh/good')");
  // No scheme yet: nothing to re-verify with, no verdict block.
  assert.equal(await page.locator("[data-testid=reverify]").count(), 0);
  assert.equal(await page.locator("[data-testid=sig-verdict]").count(), 0);
  await hs.api("PATCH", `/api/v1/bins/${bin}`, { signature: { scheme: "github", secret } });
  await page.reload();
  await page.waitForSelector("[data-testid=reverify]");
  await page.click("[data-testid=reverify]");
  await page.waitForSelector("[data-testid=reverify-result]");
  assert.match(await page.textContent("[data-testid=reverify-result]"), /github valid with the current secret/);
  await screenshot(page, "reverify-valid");
  await page.click("[data-testid=request-list] .row:has-text('/gh/forged')");
  await page.waitForSelector("[data-testid=detail-head]:has-text('/gh/forged')");
  assert.equal(await page.locator("[data-testid=reverify-result]").count(), 0, "a verdict belongs to its request");
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await page.click("[data-testid=reverify]");
    await page.waitForSelector("[data-testid=reverify-result]");
    assert.match(await page.textContent("[data-testid=reverify-result]"), /github invalid with the current secret/);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
    await screenshot(page, "phone-reverify-invalid");
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
  }
  // The record keeps its capture-time verdict.
  const recs = await stored(bin, 2);
  assert.ok(recs.every((r) => r.signature.status === "unchecked"), JSON.stringify(recs.map((r) => r.signature)));
});

test("replays: grouped under their original as attempts, kept out of the list, filters, counts and stats unless asked (desktop and phone)", async () => {
  const bin = (await hs.createBin({ name: "replays" })).id;
  for (let i = 0; i < 3; i++) await hs.capture(bin, { path: `/order/${i}`, headers: { "Content-Type": "application/json" }, body: `{"i":${i}}` });
  const orig = (await stored(bin, 3)).find((r) => r.path === "/order/0").id;
  const dead = "http://127.0.0.1:9/dead"; // nothing listens: 502
  for (let i = 0; i < 2; i++) await hs.api("POST", `/api/v1/bins/${bin}/requests/${orig}/replay`, { url: dead });
  let all;
  for (const end = Date.now() + 10000; ; await sleep(50)) {
    all = await hs.api("GET", `/api/v1/bins/${bin}/requests?replays=include`);
    if (all.requests.length >= 5 || Date.now() > end) break;
  }
  assert.equal(all.requests.length, 5);
  assert.equal(all.requests.filter((r) => r.replay_of === orig).length, 2, "replay_of names the original");
  await page.goto(`${hs.url}/bins/${bin}`);
  await page.waitForFunction(() => document.querySelector("[data-testid=count]")?.textContent === "3 requests");
  assert.equal(await rows().count(), 3);
  assert.equal(await page.locator("[data-testid=replay-marker]").count(), 0);
  // The original shows its replays as attempts.
  await page.click(`[data-testid=request-list] .row[data-id="${orig}"]`);
  await page.waitForSelector("[data-testid=replays-block] .attempt >> nth=1");
  assert.match(await page.textContent("[data-testid=replays-block] .block-label"), /Replays \(2\)/);
  assert.equal(await page.locator("[data-testid=replays-block] .fwd.bad").count(), 2);
  // A replay sent from here joins them live; the list does not grow.
  await page.click("[data-testid=replay-toggle]");
  await page.fill("[aria-label='Replay URL']", dead);
  await page.click("[data-testid=replay-form] >> text=Send");
  await page.waitForSelector("[data-testid=replay-result]");
  await page.waitForSelector("[data-testid=replays-block] .attempt >> nth=2", { timeout: 5000 });
  await screenshot(page, "replays-grouped");
  await sleep(300);
  assert.equal(await rows().count(), 3);
  assert.equal(await page.textContent("[data-testid=count]"), "3 requests");
  // A status filter does not see them...
  await page.goto(`${hs.url}/bins/${bin}?status=5xx`);
  await page.waitForSelector("text=No matching requests");
  // ...unless asked.
  await page.selectOption("[aria-label='Replays filter']", "include");
  await page.waitForURL(/replays=include/);
  await page.waitForFunction(() => document.querySelector("[data-testid=count]")?.textContent === "3 requests");
  // (The count can answer before the page of rows.)
  await page.waitForFunction(() => document.querySelectorAll("[data-testid=request-list] .row [data-testid=replay-marker]").length === 3);
  assert.equal(await rows().count(), 3, "only the replays are 5xx");
  await page.selectOption("[aria-label='Status filter']", "");
  await page.waitForFunction(() => document.querySelector("[data-testid=count]")?.textContent === "6 requests");
  // A replay's record names its original.
  await page.click("[data-testid=request-list] .row:has([data-testid=replay-marker]) >> nth=0");
  await page.waitForSelector(`[data-testid=replay-of]:has-text("${orig}")`);
  // Stats leave them out unless asked.
  await page.goto(`${hs.url}/bins/${bin}/stats`);
  await page.waitForSelector(".stats .stat-value");
  assert.equal(await page.textContent(".stats .stat >> nth=0 >> .stat-value"), "3");
  await page.check("[data-testid=stats-replays]");
  await page.waitForURL(/replays=include/);
  await page.waitForFunction(() => document.querySelector(".stats .stat .stat-value")?.textContent === "6");
  // Phone: the original's attempts.
  await page.setViewportSize({ width: 390, height: 844 });
  try {
    await page.goto(`${hs.url}/bins/${bin}/requests/${orig}`);
    await page.waitForSelector("[data-testid=replays-block] .attempt >> nth=2");
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
    await screenshot(page, "phone-replays-grouped");
  } finally {
    await page.setViewportSize({ width: 1280, height: 800 });
  }
});

test("phone: a share link renders read-only, with its expiry and no control that would fail", async () => {
  const created = await hs.createBin({ name: "shared-phone", private: true, signature: { scheme: "github", secret: "s3cret" } });
  const bin = created.id;
  await hs.capture(bin, { path: "/shared/1", headers: { "Content-Type": "application/json" }, body: '{"a":1}' });
  await stored(bin, 1);
  await hs.api("POST", "/api/v1/alerts/rules", { name: "r", bin_id: bin, kind: "failure_spike", channels: [], enabled: true });
  const share = await hs.api("POST", `/api/v1/bins/${bin}/share`, { expires_in: "24h" });
  const viewer = new Browser();
  try {
    const p = await viewer.start({ owner: false, width: 390, height: 844 });
    await p.goto(`${hs.url}/bins/${bin}?token=${encodeURIComponent(share.token)}`);
    await p.waitForSelector("[data-testid=readonly-banner]");
    assert.match(await p.textContent("[data-testid=readonly-banner]"), /Read-only link · expires /);
    assert.equal(await p.locator(".tabs a:has-text('Settings')").count(), 0);
    await p.click("[data-testid=request-list] .row:has-text('/shared/1')");
    await p.waitForSelector("[data-testid=detail-head]:has-text('/shared/1')");
    for (const c of ["replay-toggle", "reverify"]) assert.equal(await p.locator(`[data-testid=${c}]`).count(), 0, `no ${c}`);
    assert.equal(await p.locator("[data-testid=copy-curl]").count(), 1, "reading tools stay");
    let overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone`);
    await screenshot(p, "phone-readonly-detail");
    await p.goto(`${hs.url}/bins/${bin}/alerts`);
    await p.waitForSelector("[data-testid=rules-table]");
    assert.equal(await p.locator("text=New rule").count(), 0);
    assert.equal(await p.locator("[aria-label='Delete rule']").count(), 0);
    assert.ok(await p.locator("[data-testid=rules-table] input[type=checkbox]").first().isDisabled());
    overflow = await p.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `alerts page is ${overflow}px wider than the phone`);
    await screenshot(p, "phone-readonly-alerts");
    assert.deepEqual(viewer.errors, []);
  } finally {
    await viewer.close();
  }
});

test("exact totals up to the API's cap, then \"10,000+\"", async () => {
  const bin = (await hs.createBin({ name: "capped" })).id;
  // 10 001 matching requests: the count API counts a filtered list up to
  // its cap (10 000) and says capped.
  await pool(Array.from({ length: 10001 }, (_, i) => i), 32, (i) => hs.capture(bin, { method: "PUT", path: `/c/${i}` }));
  await stored(bin, 10001);
  const c = await hs.api("GET", `/api/v1/bins/${bin}/requests/count?method=PUT`);
  assert.deepEqual([c.capped, c.cap], [true, 10000]);
  await page.goto(`${hs.url}/bins/${bin}?method=PUT`);
  await page.waitForFunction(() => document.querySelector("[data-testid=count]")?.textContent === "10,000+ requests", null, { timeout: 15000 });
  // Without a filter the total is exact.
  await page.goto(`${hs.url}/bins/${bin}`);
  await page.waitForFunction(() => document.querySelector("[data-testid=count]")?.textContent === "10,001 requests", null, { timeout: 15000 });
});

test("no dialogs, page errors or CSP violations", () => {
  assert.deepEqual(br.dialogs, []);
  assert.deepEqual(br.errors, []);
});

// Refused captures: a server with a per-bin rate limit.
test("refused captures: the count in the list header and a banner while it happens (desktop and phone)", async () => {
  const limited = new Hookscope({ HOOKSCOPE_RATE_PER_BIN: "2" });
  const b2 = new Browser();
  try {
    await limited.start();
    const p = await b2.start();
    const bin = (await limited.createBin({ name: "limited" })).id;
    await p.goto(`${limited.url}/bins/${bin}`);
    await p.waitForSelector("[data-testid=live-state].live-live");
    assert.equal(await p.locator("[data-testid=refusing-banner]").count(), 0);
    let refused = 0;
    for (let i = 0; i < 30; i++) if ((await limited.capture(bin, { path: `/burst/${i}` })).status === 429) refused++;
    assert.ok(refused > 0, "the burst was refused in part");
    await p.waitForSelector("[data-testid=refusing-banner]", { timeout: 8000 });
    assert.match(await p.textContent("[data-testid=refusing-banner]"), /Requests are being refused/);
    await p.waitForFunction((n) => document.querySelector("[data-testid=refused-count]")?.textContent === `${n} refused`, refused, { timeout: 8000 });
    await screenshot(p, "refused-banner");
    await p.setViewportSize({ width: 390, height: 844 });
    if (await p.isVisible("[aria-label='Close request']")) await p.click("[aria-label='Close request']");
    await p.waitForSelector("[data-testid=refused-count]");
    assert.ok(await p.isVisible("[data-testid=refusing-banner]"));
    assert.ok(await p.isVisible("[data-testid=refused-count]"));
    await screenshot(p, "phone-refused-banner");
    // Quiet again: the banner goes, the count stays.
    await p.waitForSelector("[data-testid=refusing-banner]", { state: "detached", timeout: 20000 });
    assert.ok(await p.isVisible("[data-testid=refused-count]"));
    assert.deepEqual(b2.errors, []);
  } finally {
    await b2.close();
    await limited.cleanup();
  }
  await sleep(0);
});
