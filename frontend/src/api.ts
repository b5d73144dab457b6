import type { AlertEvent, AlertRule, Attempts, Bin, BinList, Filters, RequestDiff, RequestFull, RequestPage, Signature, Stats } from "./types";
import { ownerTokens, tokenFor } from "./storage";

export class ApiError extends Error {
  constructor(
    public status: number,
    message: string,
  ) {
    super(message);
  }
}

const enc = encodeURIComponent;

async function call<T>(method: string, path: string, bin?: string, body?: unknown, extra?: Record<string, string>): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json", ...extra };
  const tok = bin ? tokenFor(bin) : undefined;
  if (tok) headers.Authorization = `Bearer ${tok}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (e) {
    throw new ApiError(0, "server unreachable");
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let data: any = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!res.ok) {
    const msg = data && typeof data.error === "string" ? data.error : `${res.status} ${res.statusText}`;
    throw new ApiError(res.status, msg);
  }
  return data as T;
}

export function filterParams(f: Partial<Filters>): URLSearchParams {
  const p = new URLSearchParams();
  if (f.method) p.set("method", f.method);
  if (f.status) p.set("status", f.status);
  if (f.signature) p.set("signature", f.signature);
  if (f.ip) p.set("ip", f.ip.trim());
  if (f.q) p.set("q", f.q);
  if (f.since) p.set("since", toRFC3339(f.since));
  if (f.until) p.set("until", toRFC3339(f.until));
  // The records of replays stay out of lists and counts unless asked.
  p.set("replays", f.replays === "include" || f.replays === "only" ? f.replays : "exclude");
  return p;
}

// datetime-local inputs give "2026-01-02T15:04" in local time.
export function toRFC3339(local: string): string {
  const d = new Date(local);
  return isNaN(d.getTime()) ? local : d.toISOString();
}

export const api = {
  createBin: (body: { name?: string; expires_in?: string | null; private?: boolean }) =>
    call<Bin>("POST", "/api/v1/bins", undefined, body),
  // listBins: the bins this browser holds owner tokens for (at most the
  // server's 100), with request counts and last activity.
  listBins: (q = "") =>
    call<BinList>("GET", `/api/v1/bins${q ? "?" + new URLSearchParams({ q }) : ""}`, undefined, undefined, {
      "X-Hookscope-Bin-Tokens": ownerTokens().slice(0, 100).join(","),
    }),
  getBin: (bin: string) => call<Bin>("GET", `/api/v1/bins/${enc(bin)}`, bin),
  patchBin: (bin: string, patch: unknown) => call<Bin>("PATCH", `/api/v1/bins/${enc(bin)}`, bin, patch),
  deleteBin: (bin: string) => call<void>("DELETE", `/api/v1/bins/${enc(bin)}`, bin),
  shareBin: (bin: string, expires_in: string) =>
    call<{ url: string; token?: string }>("POST", `/api/v1/bins/${enc(bin)}/share`, bin, { expires_in }),
  listRequests: (bin: string, f: Partial<Filters>, before?: string | null, limit = 100) => {
    const p = filterParams(f);
    p.set("limit", String(limit));
    if (before) p.set("before", before);
    return call<RequestPage>("GET", `/api/v1/bins/${enc(bin)}/requests?${p}`, bin);
  },
  // countRequests: the exact number of matching requests, or the cap with
  // capped=true when there are more than the server counts.
  countRequests: (bin: string, f: Partial<Filters>) =>
    call<{ count: number; capped: boolean; cap: number }>("GET", `/api/v1/bins/${enc(bin)}/requests/count?${filterParams(f)}`, bin),
  // replaysOf: the records of the replays of one request, newest first.
  replaysOf: (bin: string, id: string) =>
    call<RequestPage>("GET", `/api/v1/bins/${enc(bin)}/requests?${new URLSearchParams({ replays: "only", q: `header:X-Hookscope-Replay-Of=${id}`, limit: "100" })}`, bin),
  getRequest: (bin: string, id: string) => call<RequestFull>("GET", `/api/v1/bins/${enc(bin)}/requests/${enc(id)}`, bin),
  attempts: (bin: string, id: string) => call<Attempts>("GET", `/api/v1/bins/${enc(bin)}/requests/${enc(id)}/attempts`, bin),
  diff: (bin: string, id: string, against: string) =>
    call<RequestDiff>("GET", `/api/v1/bins/${enc(bin)}/requests/${enc(id)}/diff?against=${enc(against)}`, bin),
  clearRequests: (bin: string) => call<void>("DELETE", `/api/v1/bins/${enc(bin)}/requests`, bin),
  redeliver: (bin: string, id: string) =>
    call<{ id: string; forward: import("./types").Forward }>("POST", `/api/v1/bins/${enc(bin)}/requests/${enc(id)}/redeliver`, bin),
  replay: (bin: string, id: string, url?: string) =>
    call<any>("POST", `/api/v1/bins/${enc(bin)}/requests/${enc(id)}/replay`, bin, url ? { url } : {}),
  // reverify: the stored request's signature checked with the bin's current
  // secret (owner only); the record keeps its capture-time verdict.
  reverify: (bin: string, id: string) =>
    call<{ id: string; signature: Signature; recorded: Signature; delivery_lag_ms: number | null }>("POST", `/api/v1/bins/${enc(bin)}/requests/${enc(id)}/verify`, bin, {}),
  // replays: stats leave the records of replays out unless asked.
  stats: (bin: string, since: string, until: string, step: string, replays = false) =>
    call<Stats>(
      "GET",
      `/api/v1/bins/${enc(bin)}/stats?${new URLSearchParams({ since, until, step, replays: replays ? "include" : "exclude" })}`,
      bin,
    ),
  rawBody: async (bin: string, id: string): Promise<ArrayBuffer> => {
    const headers: Record<string, string> = {};
    const tok = tokenFor(bin);
    if (tok) headers.Authorization = `Bearer ${tok}`;
    const res = await fetch(`/api/v1/bins/${enc(bin)}/requests/${enc(id)}/body`, { headers });
    if (!res.ok) throw new ApiError(res.status, `body: ${res.status}`);
    return res.arrayBuffer();
  },
  alertRules: async (bin: string): Promise<AlertRule[]> => {
    const r = await call<any>("GET", `/api/v1/alerts/rules?bin_id=${enc(bin)}`, bin);
    const list: AlertRule[] = Array.isArray(r) ? r : r?.rules ?? [];
    return list.filter((x) => x.bin_id === bin || x.bin_id == null);
  },
  createRule: (bin: string, rule: Partial<AlertRule>) => call<AlertRule>("POST", "/api/v1/alerts/rules", bin, rule),
  patchRule: (bin: string, id: string, patch: Partial<AlertRule>) =>
    call<AlertRule>("PATCH", `/api/v1/alerts/rules/${enc(id)}`, bin, patch),
  deleteRule: (bin: string, id: string) => call<void>("DELETE", `/api/v1/alerts/rules/${enc(id)}`, bin),
  enableDefaultAlerts: (bin: string, channels: { type: string; url: string }[]) =>
    call<{ rules: AlertRule[] }>("POST", "/api/v1/alerts/defaults", bin, { bin_id: bin, channels }),
  testRule: (bin: string, id: string) => call<any>("POST", `/api/v1/alerts/rules/${enc(id)}/test`, bin, {}),
  alertEvents: async (bin: string): Promise<AlertEvent[]> => {
    const r = await call<any>("GET", `/api/v1/alerts/events?bin_id=${enc(bin)}`, bin);
    return Array.isArray(r) ? r : r?.events ?? [];
  },
};

export function liveURL(bin: string, f: Partial<Filters>, after?: string, onlyAlerts = false): string {
  const p = filterParams({ ...f, since: "", until: "" });
  // The live feed brings replays too (the server's default): the list
  // groups them under their original unless they are shown (requests.tsx).
  if (f.replays !== "only") p.delete("replays");
  if (after) p.set("after", after);
  if (onlyAlerts) p.set("only", "alerts");
  const tok = tokenFor(bin);
  if (tok) p.set("token", tok);
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const qs = p.toString();
  return `${proto}//${location.host}/api/v1/bins/${enc(bin)}/live${qs ? "?" + qs : ""}`;
}
