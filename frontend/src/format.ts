// Pure helpers (unit-tested in format.test.ts). They return strings; the
// components render those strings as text nodes only.

export function formatSize(n: number): string {
  if (!isFinite(n) || n < 0) return "-";
  if (n < 1024) return `${n} B`;
  const units = ["KB", "MB", "GB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

export function formatLatency(us: number | null | undefined): string {
  if (us == null || !isFinite(us)) return "-";
  if (us < 1000) return `${Math.round(us)} µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)} ms`;
  return `${(us / 1_000_000).toFixed(2)} s`;
}

export function formatMs(ms: number | null | undefined): string {
  if (ms == null || !isFinite(ms)) return "-";
  if (Math.abs(ms) < 1000) return `${ms} ms`;
  return `${(ms / 1000).toFixed(1)} s`;
}

export function relTime(iso: string, now: number): string {
  const t = Date.parse(iso);
  if (isNaN(t)) return iso;
  const s = Math.round((now - t) / 1000);
  if (s < 5) return "just now";
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}

export function clockTime(iso: string): string {
  const d = new Date(iso);
  if (isNaN(d.getTime())) return iso;
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

// Shell-quote for POSIX sh: single quotes, with ' written as '\''.
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const skipCurlHeaders = new Set(["host", "content-length", "connection", "accept-encoding", "user-agent"]);

export interface CurlInput {
  method: string;
  url: string;
  headers: [string, string][];
  body?: string | null;
  binary?: boolean;
}

// A ready-to-paste curl command reproducing a captured request.
export function toCurl(r: CurlInput): string {
  const parts = ["curl"];
  if (r.method !== "GET" || r.body) parts.push("-X", shq(r.method));
  parts.push(shq(r.url));
  for (const [n, v] of r.headers) {
    if (skipCurlHeaders.has(n.toLowerCase())) continue;
    parts.push("-H", shq(`${n}: ${v}`));
  }
  if (r.binary) parts.push("--data-binary", "@body.bin");
  else if (r.body) parts.push("--data-binary", shq(r.body));
  return parts.join(" ");
}

export function joinURL(base: string, path: string, query: string): string {
  const b = base.replace(/\/+$/, "");
  const p = path && path !== "/" ? (path.startsWith("/") ? path : "/" + path) : "";
  return b + p + (query ? "?" + query : "");
}

export function parseQuery(q: string): [string, string][] {
  if (!q) return [];
  const out: [string, string][] = [];
  for (const part of q.replace(/^\?/, "").split("&")) {
    if (!part) continue;
    const i = part.indexOf("=");
    const k = i < 0 ? part : part.slice(0, i);
    const v = i < 0 ? "" : part.slice(i + 1);
    out.push([safeDecode(k), safeDecode(v)]);
  }
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return s;
  }
}

// Classic hex dump: offset, 16 bytes in hex, printable ASCII.
export function hexDump(bytes: Uint8Array, limit = bytes.length): string {
  const n = Math.min(limit, bytes.length);
  const lines: string[] = [];
  for (let off = 0; off < n; off += 16) {
    let hex = "";
    let asc = "";
    for (let i = 0; i < 16; i++) {
      if (off + i < n) {
        const b = bytes[off + i];
        hex += b.toString(16).padStart(2, "0") + " ";
        asc += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".";
      } else hex += "   ";
      if (i === 7) hex += " ";
    }
    lines.push(`${off.toString(16).padStart(8, "0")}  ${hex} |${asc}|`);
  }
  return lines.join("\n");
}

// Pretty-print XML as text. It never builds a DOM from the input: a small
// tokenizer splits tags and text and indents by nesting depth.
export function prettyXML(src: string): string {
  const tokens = src.match(/<!\[CDATA\[[\s\S]*?\]\]>|<!--[\s\S]*?-->|<[^>]+>|[^<]+/g) || [];
  const out: string[] = [];
  let depth = 0;
  const pad = () => "  ".repeat(Math.max(depth, 0));
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.startsWith("</")) {
      depth--;
      out.push(pad() + t);
    } else if (t.startsWith("<?") || t.startsWith("<!") || t.endsWith("/>")) {
      out.push(pad() + t);
    } else if (t.startsWith("<")) {
      // Keep <a>text</a> on one line.
      const next = tokens[i + 1];
      const close = tokens[i + 2];
      if (next !== undefined && !next.startsWith("<") && close !== undefined && close.startsWith("</")) {
        out.push(pad() + t + next.trim() + close);
        i += 2;
      } else {
        out.push(pad() + t);
        depth++;
      }
    } else {
      const s = t.trim();
      if (s) out.push(pad() + s);
    }
  }
  return out.join("\n");
}

export function looksLikeXML(ct: string, text: string): boolean {
  if (/[/+]xml\b/i.test(ct)) return true;
  if (/html/i.test(ct)) return false;
  const s = text.trimStart();
  return s.startsWith("<?xml") || (/^<[A-Za-z][\w:.-]*[\s>]/.test(s) && /<\/[A-Za-z][\w:.-]*>\s*$/.test(s.trimEnd()));
}

export interface FormPart {
  name: string;
  filename?: string;
  contentType?: string;
  headers: [string, string][];
  value: string;
  size: number;
}

export function boundaryOf(ct: string): string | null {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(ct);
  return m ? m[1] || m[2] : null;
}

// Parse multipart/form-data from its text form (binary parts keep their size
// and show a placeholder).
export function parseMultipart(text: string, boundary: string): FormPart[] {
  const parts: FormPart[] = [];
  const delim = "--" + boundary;
  const chunks = text.split(delim);
  for (let i = 1; i < chunks.length; i++) {
    let c = chunks[i];
    if (c.startsWith("--")) break;
    c = c.replace(/^\r?\n/, "");
    const sep = c.search(/\r?\n\r?\n/);
    if (sep < 0) continue;
    const head = c.slice(0, sep);
    let value = c.slice(sep).replace(/^\r?\n\r?\n/, "").replace(/\r?\n$/, "");
    const headers: [string, string][] = [];
    for (const line of head.split(/\r?\n/)) {
      const j = line.indexOf(":");
      if (j > 0) headers.push([line.slice(0, j).trim(), line.slice(j + 1).trim()]);
    }
    const disp = headers.find(([n]) => n.toLowerCase() === "content-disposition")?.[1] ?? "";
    const name = /\bname="([^"]*)"/i.exec(disp)?.[1] ?? "";
    const filename = /\bfilename="([^"]*)"/i.exec(disp)?.[1];
    const contentType = headers.find(([n]) => n.toLowerCase() === "content-type")?.[1];
    parts.push({ name, filename, contentType, headers, value, size: value.length });
  }
  return parts;
}

// Decode bytes as UTF-8 if they are valid UTF-8; null for binary.
export function decodeUTF8(bytes: Uint8Array): string | null {
  try {
    const s = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    // Control characters other than whitespace suggest binary.
    // eslint-disable-next-line no-control-regex
    const ctrl = s.slice(0, 4096).match(/[\x00-\x08\x0e-\x1f]/g);
    if (ctrl && ctrl.length > 8) return null;
    return s;
  } catch {
    return null;
  }
}

export function base64ToBytes(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

export function statusClass(s: number): string {
  if (s >= 500) return "s5";
  if (s >= 400) return "s4";
  if (s >= 300) return "s3";
  if (s >= 200) return "s2";
  return "s0";
}

// Descending order of UUIDv7 ids equals newest-first: their hex form sorts by time.
export function insertIndex<T>(arr: T[], id: string, key: (t: T) => string): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (key(arr[mid]) > id) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// displayPath decodes percent-escapes for reading (the result is rendered as
// text); invalid escapes are left as they are.
export function displayPath(p: string): string {
  try {
    return decodeURIComponent(p);
  } catch {
    return p;
  }
}

// uuid7Time returns the millisecond timestamp a UUIDv7 carries, or null.
export function uuid7Time(id: string): number | null {
  const m = /^([0-9a-f]{8})-([0-9a-f]{4})-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$/i.exec(id);
  if (!m) return null;
  return parseInt(m[1] + m[2], 16);
}

// isoToLocal turns an RFC 3339 time into a datetime-local value with
// seconds ("2026-01-02T15:04:05", local time); "" stays "".
export function isoToLocal(iso: string): string {
  if (!iso) return "";
  const d = new Date(iso);
  if (isNaN(d.getTime())) return "";
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

// localToISO turns a datetime-local value (local time) into RFC 3339 UTC.
export function localToISO(local: string): string {
  if (!local) return "";
  const d = new Date(local);
  return isNaN(d.getTime()) ? "" : d.toISOString();
}

// Headers that name the sender of a webhook, and the ones that carry its
// event type. The signature scheme, when the bin checks one, wins.
const PROVIDER_HEADERS: [string, string][] = [
  ["x-github-event", "github"],
  ["x-gitlab-event", "gitlab"],
  ["stripe-signature", "stripe"],
  ["x-shopify-topic", "shopify"],
  ["x-shopify-hmac-sha256", "shopify"],
  ["x-slack-signature", "slack"],
  ["x-twilio-email-event-webhook-signature", "sendgrid"],
  ["x-twilio-signature", "twilio"],
  ["paddle-signature", "paddle"],
  ["x-zm-signature", "zoom"],
  ["linear-signature", "linear"],
  ["linear-event", "linear"],
  ["x-signature-ed25519", "discord"],
  ["svix-id", "svix"],
  ["webhook-signature", "standard-webhooks"],
];
const EVENT_HEADERS = ["x-github-event", "x-gitlab-event", "x-shopify-topic", "linear-event", "x-event-type", "x-webhook-event"];

export interface ProviderInfo {
  provider: string;
  event: string;
}

// providerOf names the provider and event type of a request from what the
// record holds: an event field (when the server extracts one), the
// signature scheme, or well-known headers.
export function providerOf(r: { headers?: [string, string][] | null; signature?: { scheme?: string } | null; event_type?: string; event?: unknown }): ProviderInfo {
  const h = new Map<string, string>();
  for (const [k, v] of r.headers || []) {
    const lk = k.toLowerCase();
    if (!h.has(lk)) h.set(lk, v);
  }
  let provider = "";
  const scheme = r.signature?.scheme;
  if (scheme && scheme !== "hmac") provider = scheme;
  if (!provider) for (const [name, p] of PROVIDER_HEADERS) if (h.has(name)) {
    provider = p;
    break;
  }
  let event = "";
  for (const v of [r.event_type, r.event]) {
    if (typeof v === "string" && v) {
      event = v;
      break;
    }
  }
  if (!event) for (const name of EVENT_HEADERS) if (h.get(name)) {
    event = h.get(name)!;
    break;
  }
  return { provider, event: event.slice(0, 80) };
}

// splitHits cuts text around case-insensitive occurrences of term, for
// rendering hits as <mark> text nodes: even indexes are plain, odd are hits.
export function splitHits(text: string, term: string, max = 1000): string[] {
  if (!term) return [text];
  const lt = text.toLowerCase();
  const lq = term.toLowerCase();
  const out: string[] = [];
  let at = 0;
  for (let n = 0; n < max; n++) {
    const i = lt.indexOf(lq, at);
    if (i < 0) break;
    out.push(text.slice(at, i), text.slice(i, i + term.length));
    at = i + term.length;
  }
  out.push(text.slice(at));
  return out;
}

// jsonPath writes a JSON node's path as JavaScript would read it:
// data.items[0]["odd key"].
export function jsonPath(parts: (string | number)[]): string {
  let s = "";
  for (const p of parts) {
    if (typeof p === "number") s += `[${p}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(p)) s += s ? `.${p}` : p;
    else s += `[${JSON.stringify(p)}]`;
  }
  return s || "(root)";
}
