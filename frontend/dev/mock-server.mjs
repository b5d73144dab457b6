// A stand-in for hookscope that speaks the API contract the inspector uses,
// for UI work without a Go toolchain: `npm run mock` (then open the printed
// URL). It keeps data in memory and in $HOOKSCOPE_DATA_DIR/mock.json, serves
// dist/ with the same CSP and SPA fallback as the real server, and has a
// minimal websocket for /live. It is NOT used by the e2e tests, which run the
// real binary.
import http from "node:http";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const distDir = path.join(here, "..", "dist");
const addr = process.env.HOOKSCOPE_ADDR || "127.0.0.1:8080";
const [host, port] = addr.includes(":") ? [addr.slice(0, addr.lastIndexOf(":")) || "127.0.0.1", +addr.slice(addr.lastIndexOf(":") + 1)] : ["127.0.0.1", +addr];
const dataDir = process.env.HOOKSCOPE_DATA_DIR || "";
const dataFile = dataDir ? path.join(dataDir, "mock.json") : "";
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

let db = { bins: {}, requests: {}, rules: [], events: [] };
if (dataFile && fs.existsSync(dataFile)) db = JSON.parse(fs.readFileSync(dataFile, "utf8"));
const save = () => dataFile && fs.writeFileSync(dataFile, JSON.stringify(db));
setInterval(save, 200).unref();
process.on("SIGTERM", () => (save(), process.exit(0)));
process.on("SIGINT", () => (save(), process.exit(0)));

// UUIDv7-ish ids that sort by time.
let lastMs = 0, seq = 0;
function uuid7() {
  const ms = Date.now();
  seq = ms === lastMs ? seq + 1 : 0;
  lastMs = ms;
  const h = ms.toString(16).padStart(12, "0") + seq.toString(16).padStart(4, "0") + crypto.randomBytes(8).toString("hex");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-7${h.slice(13, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
const subs = new Set();

function json(res, status, v) {
  const b = Buffer.from(JSON.stringify(v));
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": b.length });
  res.end(b);
}
function summary(r) {
  const { body, ...s } = r;
  const raw = Buffer.from(body, "base64");
  return { ...s, body_preview: raw.subarray(0, 256).toString("utf8") };
}
function matches(r, q) {
  if (q.get("method") && r.method !== q.get("method")) return false;
  const st = q.get("status");
  if (st && (/^\dxx$/.test(st) ? String(r.response_status)[0] !== st[0] : String(r.response_status) !== st)) return false;
  if (q.get("ip") && r.remote_ip !== q.get("ip")) return false;
  if (q.get("signature") && r.signature.status !== q.get("signature")) return false;
  if (q.get("since") && r.received_at < new Date(q.get("since")).toISOString()) return false;
  if (q.get("until") && r.received_at >= new Date(q.get("until")).toISOString()) return false;
  const text = (q.get("q") || "").toLowerCase();
  if (text) {
    const hay = [r.path, r.query, ...r.headers.flat(), Buffer.from(r.body, "base64").toString("utf8")].join("\n").toLowerCase();
    if (!hay.includes(text)) return false;
  }
  return true;
}
function readBody(req) {
  return new Promise((ok) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => ok(Buffer.concat(chunks)));
  });
}
function wsSend(sock, text) {
  const p = Buffer.from(text);
  let head;
  if (p.length < 126) head = Buffer.from([0x81, p.length]);
  else if (p.length < 65536) head = Buffer.from([0x81, 126, p.length >> 8, p.length & 255]);
  else {
    head = Buffer.alloc(10);
    head[0] = 0x81; head[1] = 127; head.writeBigUInt64BE(BigInt(p.length), 2);
  }
  sock.write(Buffer.concat([head, p]));
}

const server = http.createServer(async (req, res) => {
  const u = new URL(req.url, `http://${req.headers.host}`);
  const p = u.pathname;
  const m = p.match(/^\/h\/([^/]+)(\/.*)?$/);
  if (m) {
    const t0 = process.hrtime.bigint();
    const bin = db.bins[m[1]];
    if (!bin) return json(res, 404, { error: "bin not found" });
    const body = await readBody(req);
    const headers = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
    const id = uuid7();
    const status = bin.settings?.response?.status || 200;
    const r = {
      id, bin_id: bin.id, received_at: new Date().toISOString().replace("Z", "000Z"), method: req.method, path: m[2] || "/",
      query: u.search.slice(1), headers, remote_ip: req.socket.remoteAddress.replace(/^::ffff:/, ""),
      content_type: req.headers["content-type"] || "", body_size: body.length, body_truncated: false,
      body: body.toString("base64"), response_status: status, latency_us: Number((process.hrtime.bigint() - t0) / 1000n),
      signature: bin.settings?.signature?.scheme ? { scheme: bin.settings.signature.scheme, status: headers.some(([n]) => /signature/i.test(n)) ? "invalid" : "missing", reason: "mock: not verified" } : { scheme: "", status: "unchecked", reason: "" },
      delivery_lag_ms: null, forward: null,
    };
    (db.requests[bin.id] ||= []).push(r);
    for (const s of subs) if (s.bin === bin.id && matches(r, s.q)) wsSend(s.sock, JSON.stringify({ type: "request", request: summary(r) }));
    res.setHeader("X-Hookscope-Request-Id", id);
    return json(res, status, { ok: true, request_id: id });
  }
  if (p === "/healthz") return json(res, 200, { ok: true });
  if (p.startsWith("/api/v1/")) {
    const parts = p.split("/").slice(3).map(decodeURIComponent);
    const body = await readBody(req);
    const input = body.length ? JSON.parse(body.toString()) : {};
    if (parts[0] === "bins" && parts.length === 1 && req.method === "POST") {
      const id = crypto.randomBytes(6).toString("hex");
      const now = new Date();
      const exp = input.expires_in === null ? null : new Date(now.getTime() + (parseInt(input.expires_in || "168h") * 3600e3)).toISOString();
      const b = { id, name: input.name || "", url: `http://${req.headers.host}/h/${id}`, created_at: now.toISOString(), expires_at: exp, private: !!input.private, settings: {} };
      db.bins[id] = b;
      return json(res, 201, b);
    }
    if (parts[0] === "bins" && parts[1]) {
      const b = db.bins[parts[1]];
      if (!b) return json(res, 404, { error: "bin not found" });
      const list = (db.requests[b.id] ||= []);
      if (parts.length === 2) {
        if (req.method === "GET") {
          const s = structuredClone(b.settings || {});
          if (s.signature?.secret) { s.signature.secret_hint = s.signature.secret.slice(-4); delete s.signature.secret; }
          return json(res, 200, { ...b, settings: s, request_count: list.length });
        }
        if (req.method === "PATCH") {
          if (input.name !== undefined) b.name = input.name;
          for (const k of ["signature", "response", "forward"]) if (k in input) {
            if (k === "signature" && input[k] && !input[k].secret && b.settings?.signature?.secret) input[k].secret = b.settings.signature.secret;
            b.settings[k] = input[k];
          }
          return json(res, 200, b);
        }
        if (req.method === "DELETE") { delete db.bins[b.id]; delete db.requests[b.id]; res.writeHead(204); return res.end(); }
      }
      if (parts[2] === "requests" && parts.length === 3) {
        if (req.method === "DELETE") { db.requests[b.id] = []; res.writeHead(204); return res.end(); }
        const q = u.searchParams;
        const limit = Math.min(+(q.get("limit") || 50), 1000);
        const before = q.get("before");
        const out = [];
        for (let i = list.length - 1; i >= 0 && out.length <= limit; i--) {
          const r = list[i];
          if (before && r.id >= before) continue;
          if (matches(r, q)) out.push(r);
        }
        const more = out.length > limit;
        const page = out.slice(0, limit);
        return json(res, 200, { requests: page.map(summary), next: more ? page[page.length - 1].id : null });
      }
      if (parts[2] === "requests" && parts[3]) {
        const r = list.find((x) => x.id === parts[3]);
        if (!r) return json(res, 404, { error: "request not found" });
        if (parts[4] === "body") {
          res.writeHead(200, { "Content-Type": r.content_type || "application/octet-stream" });
          return res.end(Buffer.from(r.body, "base64"));
        }
        const raw = Buffer.from(r.body, "base64");
        const { body: _b, ...rest } = r;
        const txt = raw.toString("utf8");
        const valid = Buffer.from(txt, "utf8").equals(raw);
        return json(res, 200, { ...rest, body: valid ? { encoding: "utf8", data: txt } : { encoding: "base64", data: r.body } });
      }
      if (parts[2] === "stats") {
        const since = u.searchParams.get("since"), until = u.searchParams.get("until");
        const sel = list.filter((r) => (!since || r.received_at >= since) && (!until || r.received_at < until));
        const by = (f) => sel.reduce((a, r) => ((a[f(r)] = (a[f(r)] || 0) + 1), a), {});
        const lat = sel.map((r) => r.latency_us).sort((a, b) => a - b);
        const pct = (x) => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(x * lat.length))] : 0);
        const buckets = {};
        for (const r of sel) { const t = new Date(Math.floor(Date.parse(r.received_at) / 60000) * 60000).toISOString(); (buckets[t] ||= []).push(r.latency_us); }
        const series = Object.entries(buckets).sort().map(([t, ls]) => ({ t, count: ls.length, p95_latency_us: ls.sort((a, b) => a - b)[Math.floor(0.95 * (ls.length - 1))] }));
        const ips = by((r) => r.remote_ip);
        return json(res, 200, { total: sel.length, by_status: by((r) => String(r.response_status)), by_method: by((r) => r.method), by_signature: by((r) => r.signature.status), latency_us: { p50: pct(0.5), p95: pct(0.95), p99: pct(0.99) }, series, top_senders: Object.entries(ips).map(([ip, count]) => ({ ip, count })).sort((a, b) => b.count - a.count).slice(0, 10) });
      }
    }
    if (parts[0] === "alerts" && parts[1] === "rules") {
      if (parts.length === 2 && req.method === "GET") return json(res, 200, { rules: db.rules });
      if (parts.length === 2 && req.method === "POST") { const r = { ...input, id: uuid7() }; db.rules.push(r); return json(res, 201, r); }
      const r = db.rules.find((x) => x.id === parts[2]);
      if (!r) return json(res, 404, { error: "rule not found" });
      if (req.method === "PATCH") { Object.assign(r, input); return json(res, 200, r); }
      if (req.method === "DELETE") { db.rules = db.rules.filter((x) => x !== r); res.writeHead(204); return res.end(); }
      if (parts[3] === "test") return json(res, 200, { ok: true });
      return json(res, 200, r);
    }
    if (parts[0] === "alerts" && parts[1] === "events") return json(res, 200, { events: db.events.filter((e) => !u.searchParams.get("bin_id") || e.bin_id === u.searchParams.get("bin_id")) });
    return json(res, 404, { error: "not found" });
  }
  // Static files with SPA fallback.
  let file = path.join(distDir, path.normalize(p).replace(/^(\.\.[/\\])+/, ""));
  if (!file.startsWith(distDir) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) file = path.join(distDir, "index.html");
  const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml" };
  res.writeHead(200, { "Content-Type": types[path.extname(file)] || "application/octet-stream", "Content-Security-Policy": CSP });
  fs.createReadStream(file).pipe(res);
});

server.on("upgrade", (req, sock) => {
  const u = new URL(req.url, `http://${req.headers.host}`);
  const m = u.pathname.match(/^\/api\/v1\/bins\/([^/]+)\/live$/);
  if (!m || !db.bins[m[1]]) return sock.destroy();
  const accept = crypto.createHash("sha1").update(req.headers["sec-websocket-key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
  sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
  const s = { bin: m[1], q: u.searchParams, sock };
  const after = u.searchParams.get("after");
  if (after) for (const r of db.requests[m[1]] || []) if (r.id > after && matches(r, s.q)) wsSend(sock, JSON.stringify({ type: "request", request: summary(r) }));
  subs.add(s);
  sock.on("data", (d) => { if ((d[0] & 0x0f) === 8) sock.end(); });
  sock.on("close", () => subs.delete(s));
  sock.on("error", () => subs.delete(s));
});

server.listen(port, host, () => console.log(`mock hookscope on http://${host}:${port}`));
