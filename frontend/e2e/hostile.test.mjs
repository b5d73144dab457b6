// Captured content is hostile: HTML in bodies, headers, paths and queries is
// shown as text, never parsed; nothing runs; big bodies do not freeze the page.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { Browser, Hookscope, screenshot } from "./lib.mjs";

const hs = new Hookscope();
const br = new Browser();
let page;
let bin;

const BODY = `<img src=x onerror=alert(1)><script>alert(2)</script>`;
const HEADER = `<b id="inj">bold</b><img src=x onerror=alert(3)>`;

before(async () => {
  await hs.start();
  page = await br.start();
  bin = (await hs.createBin({ name: `<img src=x onerror=alert(4)>` })).id;
});

after(async () => {
  await br.close();
  await hs.cleanup();
});

async function openOnly(path) {
  await page.goto(`${hs.url}/bins/${bin}`);
  await page.click(`[data-testid=request-list] .row:has-text('${path}')`);
  await page.waitForSelector("[data-testid=detail]");
}

test("HTML in body, header, path, query and bin name renders as text", async () => {
  await hs.capture(bin, {
    path: "/x%3Cimg%20src=x%20onerror=alert(5)%3E",
    query: "q=%3Cscript%3Ealert(6)%3C/script%3E",
    headers: { "Content-Type": "text/html", "X-Evil": HEADER },
    body: BODY,
  });
  await page.goto(`${hs.url}/bins/${bin}`);
  await page.waitForSelector("[data-testid=request-list] .row");
  assert.match(await page.textContent(".bin-title h1"), /<img src=x onerror=alert\(4\)>/);
  await page.click("[data-testid=request-list] .row");
  await page.waitForSelector("[data-testid=body-text]");
  assert.equal(await page.textContent("[data-testid=body-text]"), BODY);
  await screenshot(page, "hostile-content");
  await page.click("[data-testid=tab-headers]");
  assert.ok((await page.textContent("[data-testid=headers-table]")).includes(HEADER));
  await page.click("[data-testid=tab-query]");
  assert.ok((await page.textContent("[data-testid=query-table]")).includes("<script>alert(6)</script>"));
  // No element was created from captured markup anywhere in the page.
  assert.equal(await page.locator("img").count(), 0, "no <img> in the DOM");
  assert.equal(await page.locator("#inj").count(), 0, "no injected <b>");
  assert.equal(await page.locator("body script").count(), 0, "no <script> in the body");
});

test("XML is pretty-printed as text, never parsed into the DOM", async () => {
  const xml = `<?xml version="1.0"?><order id="7"><item>caf&#233;</item><script>alert(7)</script><img src="x" onerror="alert(8)"/></order>`;
  await hs.capture(bin, { path: "/xml", headers: { "Content-Type": "application/xml" }, body: xml });
  await openOnly("/xml");
  await page.click("[data-testid=view-xml]");
  const text = await page.textContent("[data-testid=body-text]");
  assert.ok(text.includes('<order id="7">\n  <item>caf&#233;</item>'), text);
  assert.equal(await page.locator("img").count(), 0);
});

test("binary bodies get a hex view", async () => {
  const bytes = new Uint8Array(300);
  for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) & 255;
  await hs.capture(bin, { path: "/binary", headers: { "Content-Type": "application/octet-stream" }, body: bytes });
  await openOnly("/binary");
  await page.waitForSelector("[data-testid=hex]");
  const hex = await page.textContent("[data-testid=hex]");
  assert.match(hex, /^00000000  00 07 0e 15 1c 23 2a 31  38 3f 46 4d 54 5b 62 69 /);
  assert.equal(hex.split("\n").length, Math.ceil(300 / 16));
  // Download raw gives back the exact bytes.
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click(".body-actions >> text=Download raw")]);
  const got = fs.readFileSync(await dl.path());
  assert.ok(Buffer.from(bytes).equals(got), `downloaded ${got.length} bytes equal the ${bytes.length} sent`);
});

test("a 10 MB body is loaded on demand and rendered capped", async () => {
  const big = JSON.stringify({ blob: "x".repeat(10_000_000 - 20) });
  const r = await hs.capture(bin, { path: "/big", headers: { "Content-Type": "application/json" }, body: big });
  assert.ok(r.status < 300, `capture answered ${r.status}`);
  await openOnly("/big");
  await page.waitForSelector("text=Load body");
  await page.click("text=Load body");
  await page.waitForSelector("[data-testid=body-text], [data-testid=json-view]", { timeout: 15000 });
  await page.click("[data-testid=view-raw]");
  const shown = await page.evaluate(() => document.querySelector("[data-testid=body-text]").textContent.length);
  assert.ok(shown <= 256 * 1024, `rendered ${shown} characters`);
  // The page still answers promptly.
  const t0 = Date.now();
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => r())));
  assert.ok(Date.now() - t0 < 1000);

  // A deep link to it does not download the body either: the summary comes
  // from the history API (the UUIDv7 id carries the capture time).
  const url = page.url();
  const id = url.split("/").pop();
  const fetched = [];
  const onReq = (r) => fetched.push(new URL(r.url()).pathname);
  page.on("request", onReq);
  await page.goto(url);
  await page.waitForSelector("text=Load body");
  page.off("request", onReq);
  const api = fetched.filter((p) => p.startsWith("/api/"));
  assert.ok(!api.some((p) => p.endsWith(`/requests/${id}`) || p.endsWith(`/requests/${id}/body`)), api.join(" "));
  assert.match(await page.textContent(".overview"), /9\.5 MB|10 MB/);
});

test("no dialog fired, no page error, no CSP violation", () => {
  assert.deepEqual(br.dialogs, []);
  assert.deepEqual(br.errors, []);
});
