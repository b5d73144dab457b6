// Delivery forensics in the inspector (issue 17): the search syntax and its
// help popover, comparing two requests side by side, and the retry chain of
// a delivery as a timeline. A real hookscope, real captures, Chromium.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { Browser, Hookscope, screenshot, sleep } from "./lib.mjs";

const hs = new Hookscope();
const br = new Browser();
let page;

before(async () => {
  await hs.start();
  page = await br.start({ width: 1280, height: 800 });
});

after(async () => {
  assert.deepEqual(br.errors, [], "no page errors or CSP violations");
  await br.close();
  await hs.cleanup();
});

const rows = () => page.locator("[data-testid=request-list] .row");

// stored waits until the store lists n requests of bin and returns them,
// newest first.
async function stored(bin, n) {
  const end = Date.now() + 10000;
  for (;;) {
    const page = await hs.api("GET", `/api/v1/bins/${bin}/requests?limit=100`);
    if (page.requests.length >= n) return page.requests;
    if (Date.now() > end) throw new Error(`bin ${bin} has ${page.requests.length} requests, want ${n}`);
    await sleep(50);
  }
}

async function rowPaths() {
  return (await rows().locator(".path").allTextContents()).map((s) => s.trim());
}

async function waitRows(paths) {
  const end = Date.now() + 5000;
  for (;;) {
    const got = await rowPaths();
    if (JSON.stringify(got) === JSON.stringify(paths)) return;
    if (Date.now() > end) assert.deepEqual(got, paths);
    await sleep(50);
  }
}

test("search: the help popover explains the syntax, its examples and typed queries filter the list, a syntax error names the position", async () => {
  const bin = (await hs.createBin({ name: "search" })).id;
  const json = { "Content-Type": "application/json" };
  await hs.capture(bin, { path: "/gh/opened", headers: { ...json, "X-GitHub-Event": "push" }, body: '{"action":"opened","pusher":{"name":"octo cat"}}' });
  await hs.capture(bin, { path: "/gh/closed", headers: { ...json, "X-GitHub-Event": "pull_request" }, body: '{"action":"closed"}' });
  await hs.capture(bin, { path: "/health", method: "GET" });
  await stored(bin, 3);
  await page.goto(`${hs.url}/bins/${bin}`);
  await waitRows(["/health", "/gh/closed", "/gh/opened"]);

  await page.click("[data-testid=search-help]");
  const pop = page.locator("[data-testid=search-help-popover]");
  await pop.waitFor();
  for (const s of ["status:5xx", "header:X-GitHub-Event=push", "body.data.object.status:paid", "NOT a"]) {
    assert.ok((await pop.textContent()).includes(s), `the popover shows ${s}`);
  }
  await screenshot(page, "search-help");
  // An example fills the box and filters the list through the server.
  await page.click("[data-testid=search-example]:has-text('header:X-GitHub-Event=push body.action:opened')");
  assert.equal(await pop.count(), 0, "the popover closes");
  assert.equal(await page.inputValue("#search"), "header:X-GitHub-Event=push body.action:opened");
  await waitRows(["/gh/opened"]);
  assert.match(new URL(page.url()).searchParams.get("q"), /header:X-GitHub-Event=push/);

  // Typed queries: NOT, OR, parentheses, quoted values, body paths.
  for (const [q, want] of [
    ["-header:X-GitHub-Event", ["/health"]],
    ["method:get OR body.action:closed", ["/health", "/gh/closed"]],
    ['(body.pusher.name:"octo cat" OR path:/health) -method:get', ["/gh/opened"]],
    ["gh", ["/gh/closed", "/gh/opened"]], // a bare word: substring, as before
  ]) {
    await page.fill("#search", q);
    await waitRows(want);
    await page.waitForSelector(`[data-testid=count]:has-text('${want.length} request')`);
    if (q.startsWith("(")) await screenshot(page, "search-syntax");
  }

  // The live feed evaluates the same query on new requests: only the
  // matching one of two new captures shows up, without a reload.
  await page.fill("#search", "header:X-GitHub-Event=push -body.action:opened");
  await page.waitForSelector("[data-testid=count]:has-text('0 requests')");
  await page.waitForSelector("[data-testid=live-state].live-live");
  await hs.capture(bin, { path: "/gh/live-no", headers: { ...json, "X-GitHub-Event": "push" }, body: '{"action":"opened"}' });
  await hs.capture(bin, { path: "/gh/live-yes", headers: { ...json, "X-GitHub-Event": "push" }, body: '{"action":"synchronize"}' });
  // In capture order: had the first been delivered, it would be listed too.
  await waitRows(["/gh/live-yes"]);

  // A syntax error is shown with its position.
  await page.fill("#search", "(push");
  await page.waitForSelector(".listmeta .err");
  assert.match(await page.textContent(".listmeta .err"), /position 1: '\(' is never closed/);
  await page.fill("#search", "");
  await waitRows(["/gh/live-yes", "/gh/live-no", "/health", "/gh/closed", "/gh/opened"]);
});

test("compare: pick another request and see both side by side, JSON paths, headers and text lines highlighted", async () => {
  const bin = (await hs.createBin({ name: "diff" })).id;
  await hs.capture(bin, { path: "/charge", headers: { "Content-Type": "application/json", "X-Attempt": "1" }, body: '{"type":"charge.succeeded","data":{"amount":2000,"currency":"usd","tags":["a"]}}' });
  await hs.capture(bin, { path: "/charge", headers: { "Content-Type": "application/json", "X-Attempt": "2", "X-Retry": "yes" }, body: '{"type":"charge.refunded","data":{"amount":2000,"currency":"eur","tags":["a","b"]}}' });
  const [b, a] = await stored(bin, 2);

  await page.goto(`${hs.url}/bins/${bin}/requests/${b.id}`);
  await page.click("[data-testid=tab-compare]");
  await page.waitForSelector("[data-testid=compare-picker]");
  await page.click(`[data-testid=compare-item][data-id="${a.id}"]`);
  await page.waitForSelector("[data-testid=diff-json]");
  assert.equal(new URL(page.url()).searchParams.get("against"), a.id, "the comparison is in the URL");

  const json = await page.locator("[data-testid=diff-json] tbody tr").evaluateAll((trs) =>
    trs.map((tr) => [tr.dataset.op, ...[...tr.children].map((c) => c.textContent.trim())].join(" | ")),
  );
  assert.deepEqual(json, [
    "changed | $.data.currency | usd | eur",
    "added | $.data.tags[1] | — | b",
    "changed | $.type | charge.succeeded | charge.refunded",
  ]);
  const headers = await page.locator("[data-testid=diff-headers] tbody tr").evaluateAll((trs) => trs.map((tr) => tr.dataset.op + " " + tr.children[0].textContent));
  assert.ok(headers.includes("changed X-Attempt"), `headers: ${headers}`);
  assert.ok(headers.includes("added X-Retry"), `headers: ${headers}`);
  // Changed values are highlighted on each side.
  const colours = await page.locator("[data-testid=diff-json] tr[data-op=changed] td.diff-b").first().evaluate((td) => getComputedStyle(td).backgroundColor);
  assert.notEqual(colours, "rgba(0, 0, 0, 0)", "the new value is highlighted");
  await screenshot(page, "request-diff");

  // Text bodies: lines side by side.
  const tb = (await hs.createBin({ name: "diff-text" })).id;
  await hs.capture(tb, { path: "/t", headers: { "Content-Type": "text/plain" }, body: "alpha\nbeta\ngamma\n" });
  await hs.capture(tb, { path: "/t", headers: { "Content-Type": "text/plain" }, body: "alpha\nBETA\ngamma\ndelta\n" });
  const [t2, t1] = await stored(tb, 2);
  await page.goto(`${hs.url}/bins/${tb}/requests/${t2.id}?tab=compare&against=${t1.id}`);
  await page.waitForSelector("[data-testid=diff-text]");
  const lines = await page.locator("[data-testid=diff-text] tr").evaluateAll((trs) => trs.map((tr) => [tr.dataset.op, tr.children[0].textContent, tr.children[1].textContent].join(" | ")));
  assert.deepEqual(lines, ["equal | alpha | alpha", "changed | beta | BETA", "equal | gamma | gamma", "added |  | delta"]);
  await screenshot(page, "request-diff-text");
});

test("retry timeline: three attempts of one delivery, with the intervals, each opening its request, and a comparison with the attempt before", async () => {
  const bin = (await hs.createBin({ name: "retries" })).id;
  const h = { "Content-Type": "application/json", "X-GitHub-Event": "push", "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958" };
  for (let i = 1; i <= 3; i++) {
    await hs.capture(bin, { path: "/gh", headers: h, body: `{"ref":"refs/heads/main","try":${i}}` });
    await sleep(120); // a visible interval between attempts
  }
  const reqs = await stored(bin, 3);
  const [third, second, first] = reqs;
  assert.equal(third.delivery_id, "72d3162e-cc78-11e3-81ab-4c9367dc0958");

  await page.goto(`${hs.url}/bins/${bin}/requests/${third.id}`);
  await page.click("[data-testid=tab-attempts]");
  await page.waitForSelector("[data-testid=timeline]");
  const steps = page.locator("[data-testid=timeline-step]");
  assert.equal(await steps.count(), 3);
  assert.deepEqual(await steps.evaluateAll((ls) => ls.map((l) => l.dataset.id)), [first.id, second.id, third.id], "oldest first");
  assert.deepEqual(await steps.locator(".tl-title").allTextContents(), ["Attempt 1", "Attempt 2", "Attempt 3"]);
  const intervals = await page.locator("[data-testid=timeline-interval]").allTextContents();
  assert.equal(intervals.length, 2);
  for (const iv of intervals) assert.match(iv, /^\+\d+(\.\d)? (ms|s)$/);
  assert.equal(await page.getAttribute("[data-testid=timeline-step].current", "data-id"), third.id, "this request is marked");
  await screenshot(page, "retry-timeline");

  // A step opens its attempt (timeline kept).
  await steps.nth(0).locator(".tl-node").click();
  await page.waitForURL(new RegExp(`/requests/${first.id}\\?tab=attempts`));
  await page.waitForSelector(`[data-testid=timeline-step].current[data-id="${first.id}"]`);
  // "compare with #1" on the second step opens the diff of 2 against 1.
  await page.locator("[data-testid=timeline-compare]").first().click();
  await page.waitForURL(new RegExp(`/requests/${second.id}\\?tab=compare&against=${first.id}`));
  await page.waitForSelector("[data-testid=diff-json]");
  const json = await page.locator("[data-testid=diff-json] tbody tr").evaluateAll((trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent.trim()).join(" | ")));
  assert.deepEqual(json, ["$.try | 1 | 2"]);
});

test("phone: the help popover and the comparison fit the screen", async () => {
  const phone = new Browser();
  const p = await phone.start({ width: 390, height: 844 });
  try {
    const bin = (await hs.createBin({ name: "phone-diff" })).id;
    await hs.capture(bin, { path: "/p", headers: { "Content-Type": "application/json" }, body: '{"status":"pending","items":[{"sku":"a-very-long-stock-keeping-unit-identifier-0001","qty":1}]}' });
    await hs.capture(bin, { path: "/p", headers: { "Content-Type": "application/json" }, body: '{"status":"paid","items":[{"sku":"a-very-long-stock-keeping-unit-identifier-0002","qty":2}]}' });
    const [b, a] = await stored(bin, 2);
    const fits = () => p.evaluate(() => document.scrollingElement.scrollWidth <= window.innerWidth);
    await p.goto(`${hs.url}/bins/${bin}`);
    await p.click("[data-testid=search-help]");
    const box = await p.locator("[data-testid=search-help-popover]").boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= 390, `popover inside the screen: ${JSON.stringify(box)}`);
    await p.keyboard.press("Escape");
    await p.goto(`${hs.url}/bins/${bin}/requests/${b.id}?tab=compare&against=${a.id}`);
    await p.waitForSelector("[data-testid=diff-json]");
    assert.equal(await p.locator("[data-testid=diff-json] tbody tr").count(), 3);
    assert.ok(await fits(), "no sideways scrolling");
    await screenshot(p, "phone-request-diff");
    assert.deepEqual(phone.errors, []);
  } finally {
    await phone.close();
  }
});
