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

export function usePath(): string {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const l = () => setPath(location.pathname);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return path;
}

export type Route =
  | { page: "home" }
  | { page: "bin"; bin: string; tab: "requests" | "settings" | "alerts" | "stats"; request?: string }
  | { page: "notfound" };

export function parseRoute(path: string): Route {
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
    if (parts.length === 2) return { page: "bin", bin, tab: "requests" };
    if (parts[2] === "requests" && parts[3] && parts.length === 4) return { page: "bin", bin, tab: "requests", request: parts[3] };
    if (parts.length === 3 && (parts[2] === "settings" || parts[2] === "alerts" || parts[2] === "stats"))
      return { page: "bin", bin, tab: parts[2] };
  }
  return { page: "notfound" };
}

export function binPath(bin: string, rest = ""): string {
  return `/bins/${encodeURIComponent(bin)}${rest}`;
}
