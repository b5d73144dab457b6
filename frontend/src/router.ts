import { useEffect, useState } from "preact/hooks";

// A tiny history-API router: the server answers index.html for every
// non-API path, so deep links like /bins/{bin}/requests/{id} just work.

const listeners = new Set<() => void>();

export function navigate(to: string, replace = false) {
  if (to === location.pathname + location.search) return;
  if (replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  listeners.forEach((l) => l());
}

if (typeof window !== "undefined") {
  window.addEventListener("popstate", () => listeners.forEach((l) => l()));
}

// usePath re-renders on every change of the path or the query string (the
// query carries each view's state: search, filters, time range, sub-tab).
export function usePath(): string {
  const [path, setPath] = useState(location.pathname + location.search);
  useEffect(() => {
    const l = () => setPath(location.pathname + location.search);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return path;
}

export type Route =
  | { page: "home" }
  | { page: "bin"; bin: string; tab: "requests" | "settings" | "alerts" | "stats"; request?: string; search: string }
  | { page: "notfound" };

export function parseRoute(full: string): Route {
  const q = full.indexOf("?");
  const path = q < 0 ? full : full.slice(0, q);
  const search = q < 0 ? "" : full.slice(q);
  const parts = path.split("/").filter(Boolean).map((p) => {
    try {
      return decodeURIComponent(p);
    } catch {
      return p;
    }
  });
  if (parts.length === 0) return { page: "home" };
  if (parts[0] === "bins" && parts[1]) {
    const bin = parts[1];
    if (parts.length === 2) return { page: "bin", bin, tab: "requests", search };
    if (parts[2] === "requests" && parts[3] && parts.length === 4) return { page: "bin", bin, tab: "requests", request: parts[3], search };
    if (parts.length === 3 && (parts[2] === "settings" || parts[2] === "alerts" || parts[2] === "stats"))
      return { page: "bin", bin, tab: parts[2], search };
  }
  return { page: "notfound" };
}

export function binPath(bin: string, rest = ""): string {
  return `/bins/${encodeURIComponent(bin)}${rest}`;
}

// The view state kept in the query string. Filters apply to the list (and
// stay when a request is opened); tab is the open request's sub-tab; range is
// the stats panel's window.
// replays: "" keeps the records of replays out of the list, its filters and
// counts (they show grouped under their original); "include" or "only".
export const FILTER_KEYS = ["q", "method", "status", "signature", "ip", "since", "until", "replays"] as const;

export function currentParams(): URLSearchParams {
  return new URLSearchParams(location.search);
}

// withParams returns path with the current query string changed by set
// (empty values are removed).
export function withParams(path: string, set: Record<string, string | undefined>, keep: readonly string[] | null = null): string {
  const cur = currentParams();
  const p = new URLSearchParams();
  cur.forEach((v, k) => {
    if (keep === null || keep.includes(k)) p.set(k, v);
  });
  for (const [k, v] of Object.entries(set)) {
    if (v) p.set(k, v);
    else p.delete(k);
  }
  const qs = p.toString();
  return path + (qs ? "?" + qs : "");
}
