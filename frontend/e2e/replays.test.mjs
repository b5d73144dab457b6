// Export and bulk replay from the inspector (issue 17 items 5 and 6): the
// export button downloads the filtered rows; "Replay these" runs a job
// against a real receiver on loopback, its progress bar reaches done, and a
// slow job can be cancelled.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { Browser, Hookscope, screenshot, sleep, waitFor } from "./lib.mjs";

const hs = new Hookscope({ HOOKSCOPE_ALLOW_PRIVATE_TARGETS: "true" });
const br = new Browser();
let page;
let bin;
let receiver;
let target;
const got = [];

before(async () => {
  receiver = http.createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      got.push({ method: req.method, url: req.url });
      res.writeHead(200);
      res.end();
    });
  });
  await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
  target = `http://127.0.0.1:${receiver.address().port}`;
  await hs.start();
  // A private bin: the download link must carry its token.
  bin = (await hs.createBin({ name: "bulk", private: true })).id;
  for (let i = 0; i < 30; i++) {
    if (i % 3 === 2) await hs.capture(bin, { method: "GET", path: `/get/${i}` });
    else await hs.capture(bin, { path: `/post/${i}`, headers: { "Content-Type": "application/json" }, body: JSON.stringify({ i, f: "=1+1" }) });
  }
  for (let end = Date.now() + 10000; ; ) {
    const c = await hs.api("GET", `/api/v1/bins/${bin}/requests/count`);
    if (c.count === 30) break;
    if (Date.now() > end) throw new Error(`stored ${c.count} of 30`);
    await sleep(50);
  }
  page = await br.start();
  await hs.adopt(page, bin);
});

after(async () => {
  await br.close();
  await hs.cleanup();
  receiver.close();
});

test("the export button downloads the filtered rows in the chosen format", async () => {
  await page.goto(`${hs.url}/bins/${bin}?method=POST`);
  await page.waitForSelector("[data-testid=request-list] .row");
  await page.selectOption("[data-testid=export-format]", "csv");
  const [dl] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=export-link]")]);
  assert.match(dl.suggestedFilename(), new RegExp(`^hookscope-${bin}-\\d{8}T\\d{6}Z\\.csv$`));
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "hookscope-dl-")), "x.csv");
  await dl.saveAs(file);
  const lines = fs.readFileSync(file, "utf8").trim().split("\n");
  assert.match(lines[0], /^id,received_at,method,path,query,/);
  assert.equal(lines.length, 1 + 20, `csv rows: ${lines.length - 1}`);
  for (const l of lines.slice(1)) assert.match(l, /^[0-9a-f-]{36},[^,]+,POST,\/post\/\d+,/);

  await page.selectOption("[data-testid=export-format]", "ndjson");
  const [dl2] = await Promise.all([page.waitForEvent("download"), page.click("[data-testid=export-link]")]);
  const file2 = path.join(path.dirname(file), "x.ndjson");
  await dl2.saveAs(file2);
  const recs = fs.readFileSync(file2, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(recs.length, 20);
  assert.ok(recs.every((r) => r.method === "POST" && r.body.data.includes('"f":"=1+1"')), "full bodies, only POSTs");
  assert.deepEqual(br.errors, []);
  await screenshot(page, "export-button");
});

test("Replay these: a dry count, then a job whose progress bar reaches done", async () => {
  await page.goto(`${hs.url}/bins/${bin}?method=POST`);
  await page.waitForSelector("[data-testid=request-list] .row");
  await page.click("[data-testid=replay-open]");
  await page.fill("[data-testid=replay-url]", `${target}/again`);
  await page.fill("[data-testid=replay-rate]", "8");
  await page.click("[data-testid=replay-dry]");
  await page.waitForSelector("[data-testid=replay-count]:has-text('20 requests match')");
  assert.equal(got.length, 0, "a dry run sends nothing");
  await page.click("[data-testid=replay-start]");
  await page.waitForSelector("[data-testid=replay-progress]");
  // Progress advances: catch an intermediate value on the way.
  const mid = await waitFor(async () => {
    const v = await page.$eval("[data-testid=replay-progress]", (p) => p.value);
    return v > 0 && v < 20 ? v : 0;
  }, 5000);
  assert.ok(mid > 0, "the progress bar showed an intermediate value");
  await page.waitForSelector("[data-testid=replay-state]:has-text('done')", { timeout: 20000 });
  assert.equal(await page.$eval("[data-testid=replay-progress]", (p) => `${p.value}/${p.max}`), "20/20");
  assert.equal(got.length, 20);
  assert.ok(got.every((g) => g.method === "POST" && g.url === "/again"), JSON.stringify(got.slice(0, 3)));
  assert.match(await page.textContent("[data-testid=replay-job]"), /20\/20 sent · 20 ok · 0 failed/);
  await screenshot(page, "replay-progress-done");
  // The replays are recorded in the bin, linked to their originals.
  const list = await hs.api("GET", `/api/v1/bins/${bin}/requests?limit=100`);
  assert.equal(list.requests.filter((r) => r.replay_of).length, 20);
  assert.deepEqual(br.errors, []);
  console.log(`progress seen mid-way: ${mid}/20`);
});

test("Replay these: cancel stops a slow job", async () => {
  got.length = 0;
  await page.goto(`${hs.url}/bins/${bin}?method=GET`);
  await page.waitForSelector("[data-testid=request-list] .row");
  await page.click("[data-testid=replay-open]");
  await page.fill("[data-testid=replay-url]", `${target}/slow`);
  await page.fill("[data-testid=replay-rate]", "1");
  await page.click("[data-testid=replay-start]");
  await waitFor(async () => (await page.$eval("[data-testid=replay-progress]", (p) => p.value).catch(() => 0)) >= 1, 15000);
  await page.click("[data-testid=replay-cancel]");
  await page.waitForSelector("[data-testid=replay-state]:has-text('canceled')", { timeout: 10000 });
  const sent = await page.$eval("[data-testid=replay-progress]", (p) => p.value);
  assert.ok(sent >= 1 && sent < 10, `sent ${sent} of 10 before the cancel`);
  await sleep(1500); // one more request would be due at 1/s
  assert.equal(got.length, sent, "nothing more is sent after the cancel");
  await screenshot(page, "replay-canceled");
  assert.deepEqual(br.errors, []);
});
