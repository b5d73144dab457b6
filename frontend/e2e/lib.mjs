// Shared harness of the end-to-end tests: a real hookscope on a free
// loopback port with a temporary data directory, and Debian's Chromium
// driven by playwright-core.
import { spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = path.dirname(fileURLToPath(import.meta.url));

export function freePort() {
  return new Promise((ok, fail) => {
    const s = net.createServer();
    s.unref();
    s.on("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// waitFor polls fn (sync or async) until it returns something truthy, and
// returns that; past ms it returns fn's last answer, for the caller to
// assert on with a message that says what it got.
export async function waitFor(fn, ms = 5000, every = 50) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await sleep(every);
  }
}

// Hookscope runs the binary named by HOOKSCOPE_BIN. start() and stop() can be
// called again to restart it on the same port and data directory.
export class Hookscope {
  constructor(extraEnv = {}) {
    this.extraEnv = extraEnv;
    const bin = process.env.HOOKSCOPE_BIN;
    if (!bin) throw new Error("HOOKSCOPE_BIN must name a hookscope binary (go build -o /tmp/hookscope ./cmd/hookscope)");
    this.bin = bin;
    this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "hookscope-e2e-"));
    this.proc = null;
    this.log = [];
  }

  async start() {
    if (!this.port) this.port = await freePort();
    this.url = `http://127.0.0.1:${this.port}`;
    const env = {
      ...process.env,
      HOOKSCOPE_ADDR: `127.0.0.1:${this.port}`,
      HOOKSCOPE_DATA_DIR: this.dataDir,
      HOOKSCOPE_PUBLIC_URL: this.url,
      HOOKSCOPE_LOG_LEVEL: process.env.HOOKSCOPE_LOG_LEVEL || "warn",
      // The tests seed thousands of requests from 127.0.0.1.
      HOOKSCOPE_RATE_PER_IP: "0",
      HOOKSCOPE_QUOTAS: "open", // likewise for the API quotas (issue 21)
      ...this.extraEnv,
    };
    const p = spawn(this.bin, [], { env, stdio: ["ignore", "pipe", "pipe"] });
    this.proc = p;
    const keep = (d) => {
      this.log.push(d.toString());
      if (this.log.length > 200) this.log.shift();
    };
    p.stdout.on("data", keep);
    p.stderr.on("data", keep);
    const exited = new Promise((r) => p.once("exit", r));
    this.exited = exited;
    const deadline = Date.now() + 20000;
    for (;;) {
      if (p.exitCode !== null) throw new Error(`hookscope exited with ${p.exitCode}:\n${this.log.join("")}`);
      try {
        const r = await fetch(`${this.url}/healthz`);
        if (r.ok) return;
      } catch {
        /* not up yet */
      }
      if (Date.now() > deadline) throw new Error(`hookscope did not become healthy:\n${this.log.join("")}`);
      await sleep(50);
    }
  }

  // stop sends SIGTERM (a clean shutdown flushes what was answered) and waits.
  async stop(signal = "SIGTERM") {
    if (!this.proc || this.proc.exitCode !== null) return;
    this.proc.kill(signal);
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 10000);
    await this.exited;
    clearTimeout(t);
  }

  async cleanup() {
    await this.stop();
    fs.rmSync(this.dataDir, { recursive: true, force: true });
  }

  // api calls the JSON API as the bins' owner: the owner token of every
  // bin created through createBin goes along with calls about that bin
  // (its path, or bin_id in the body), as the inspector sends it.
  async api(method, p, body) {
    const headers = body === undefined ? {} : { "Content-Type": "application/json" };
    const bin = /^\/api\/v1\/bins\/([^/?]+)/.exec(p)?.[1] ?? body?.bin_id;
    const tok = bin && this.tokens?.get(bin);
    if (tok) headers.Authorization = `Bearer ${tok}`;
    const r = await fetch(this.url + p, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }

  // createBin creates a bin as its owner: the owner token is kept for api()
  // and handed to every browser the tests start, as the inspector would
  // have kept it had it created the bin.
  async createBin(body = {}) {
    const b = await this.api("POST", "/api/v1/bins", body);
    (this.tokens ??= new Map()).set(b.id, b.token);
    ownerTokens.set(b.id, b.token);
    for (const br of openBrowsers) await br.seedTokens({ [b.id]: b.token });
    return b;
  }

  // adopt gives page's browser the owner token of a bin created through
  // createBin, as the inspector keeps it after creating a bin itself.
  async adopt(page, bin) {
    const tok = this.tokens?.get(bin);
    if (!tok) throw new Error(`no owner token for ${bin}`);
    if (!page.url().startsWith(this.url)) await page.goto(this.url + "/healthz");
    await page.evaluate(([b, t]) => {
      const all = JSON.parse(localStorage.getItem("hookscope.tokens") || "{}");
      all[b] = t;
      localStorage.setItem("hookscope.tokens", JSON.stringify(all));
    }, [bin, tok]);
  }

  // capture sends one request to a bin like curl would.
  async capture(bin, { method = "POST", path: p = "/", query = "", headers = {}, body } = {}) {
    if (method === "GET" || method === "HEAD") body = undefined;
    const r = await fetch(`${this.url}/h/${bin}${p}${query ? "?" + query : ""}`, { method, headers, body });
    await r.arrayBuffer();
    return r;
  }
}

// Browser starts Chromium with a fresh profile and records dialogs, page
// errors and CSP violations, which the tests assert are absent.
// Owner tokens of the bins tests created through the API, and the browsers
// that get them (as if each browser had created those bins).
const ownerTokens = new Map();
const openBrowsers = new Set();

export class Browser {
  // seedTokens puts owner tokens into the inspector's localStorage on every
  // page load, without replacing a token the page already keeps (a share
  // link's, for instance).
  async seedTokens(tokens) {
    await this.ctx.addInitScript((t) => {
      try {
        const kept = JSON.parse(localStorage.getItem("hookscope.tokens") || "{}") || {};
        let changed = false;
        for (const [bin, tok] of Object.entries(t)) {
          // Once per tab: a token the page later forgets stays forgotten.
          if (!(bin in kept) && !sessionStorage.getItem("seeded:" + bin)) {
            kept[bin] = tok;
            changed = true;
          }
          sessionStorage.setItem("seeded:" + bin, "1");
        }
        if (changed) localStorage.setItem("hookscope.tokens", JSON.stringify(kept));
      } catch {
        /* about:blank and other pages without storage */
      }
    }, tokens);
  }

  async start({ width = 1280, height = 800, colorScheme = "light", owner = true } = {}) {
    this.userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "hookscope-chromium-"));
    this.ctx = await chromium.launchPersistentContext(this.userDataDir, {
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
      viewport: { width, height },
      colorScheme,
    });
    this.dialogs = [];
    this.errors = [];
    if (owner) {
      openBrowsers.add(this);
      await this.seedTokens(Object.fromEntries(ownerTokens));
    }
    this.page = this.ctx.pages()[0] || (await this.ctx.newPage());
    this.watch(this.page);
    return this.page;
  }

  watch(page) {
    page.on("dialog", (d) => {
      if (d.type() === "confirm" && this.acceptConfirms) {
        d.accept().catch(() => {});
        return;
      }
      this.dialogs.push(d.message());
      d.dismiss().catch(() => {});
    });
    page.on("pageerror", (e) => this.errors.push(`pageerror: ${e.message}`));
    page.on("console", (m) => {
      if (m.type() === "error" && /Content Security Policy|Refused to/i.test(m.text())) this.errors.push(`csp: ${m.text()}`);
    });
  }

  async close() {
    openBrowsers.delete(this);
    await this.ctx?.close();
    if (this.userDataDir) fs.rmSync(this.userDataDir, { recursive: true, force: true });
  }
}

// Screenshots go to docs/screenshots when UPDATE_SCREENSHOTS=1 (so that a
// test run in CI does not touch the working tree), else to a temp dir.
const shotDir = process.env.UPDATE_SCREENSHOTS === "1" ? path.join(here, "..", "..", "docs", "screenshots") : fs.mkdtempSync(path.join(os.tmpdir(), "hookscope-shots-"));
export async function screenshot(page, name) {
  fs.mkdirSync(shotDir, { recursive: true });
  const file = path.join(shotDir, `${name}.png`);
  await page.screenshot({ path: file });
  return file;
}

// rowCount is the number of request rows that exist in the DOM.
export function rowCount(page) {
  return page.locator("[data-testid=request-list] .row").count();
}

// Run fn over items with at most n in flight.
export async function pool(items, n, fn) {
  let i = 0;
  const workers = Array.from({ length: n }, async () => {
    while (i < items.length) {
      const k = i++;
      await fn(items[k], k);
    }
  });
  await Promise.all(workers);
}
