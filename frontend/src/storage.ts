// Browser-side memory: recent bins, per-bin tokens of private bins, theme.

export interface RecentBin {
  id: string;
  name: string;
  url: string;
  created_at: string;
  private?: boolean;
}

const RECENT = "hookscope.recent";
const TOKENS = "hookscope.tokens";
const THEME = "hookscope.theme";

function read<T>(key: string, fallback: T): T {
  try {
    const v = localStorage.getItem(key);
    return v ? (JSON.parse(v) as T) : fallback;
  } catch {
    return fallback;
  }
}

function write(key: string, v: unknown) {
  try {
    localStorage.setItem(key, JSON.stringify(v));
  } catch {
    /* storage full or disabled: the UI keeps working without memory */
  }
}

export function recentBins(): RecentBin[] {
  const v = read<RecentBin[]>(RECENT, []);
  return Array.isArray(v) ? v : [];
}

export function rememberBin(b: RecentBin) {
  const list = recentBins().filter((x) => x.id !== b.id);
  list.unshift(b);
  write(RECENT, list.slice(0, 50));
}

export function forgetBin(id: string) {
  write(RECENT, recentBins().filter((x) => x.id !== id));
  const t = read<Record<string, string>>(TOKENS, {});
  delete t[id];
  write(TOKENS, t);
}

export function tokenFor(bin: string): string | undefined {
  return read<Record<string, string>>(TOKENS, {})[bin];
}

// setToken keeps a bin's token. A read-only (share) token never replaces an
// owner token this browser already holds: opening one's own share link must
// not lose control of the bin.
export function setToken(bin: string, token: string) {
  const t = read<Record<string, string>>(TOKENS, {});
  if (tokenInfo(token)?.scope === "read" && t[bin] && tokenInfo(t[bin])?.scope === "owner") return;
  t[bin] = token;
  write(TOKENS, t);
}

// ownerTokens are the owner tokens this browser keeps (not share links'
// read tokens): what it sends to list "your bins".
export function ownerTokens(): string[] {
  const t = read<Record<string, string>>(TOKENS, {});
  return Object.values(t || {}).filter((tok) => typeof tok === "string" && tokenInfo(tok)?.scope === "owner");
}

export type Theme = "light" | "dark";

export function savedTheme(): Theme {
  const t = read<string | null>(THEME, null);
  if (t === "light" || t === "dark") return t;
  return typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function saveTheme(t: Theme) {
  write(THEME, t);
}

export interface TokenInfo {
  scope?: string;
  exp?: number; // seconds since the epoch
}

// tokenInfo reads the claims of a hookscope token (a JWT) without checking
// it: the UI only uses them to hide controls the server would refuse. Not a
// JWT (or not readable): null.
export function tokenInfo(tok: string | undefined): TokenInfo | null {
  if (!tok) return null;
  const parts = tok.split(".");
  if (parts.length !== 3 || parts[1].length > 4096) return null;
  try {
    const b64 = parts[1].replace(/-/g, "+").replace(/_/g, "/");
    const c = JSON.parse(atob(b64 + "===".slice((b64.length + 3) % 4)));
    if (!c || typeof c !== "object") return null;
    return { scope: typeof c.scope === "string" ? c.scope : undefined, exp: typeof c.exp === "number" ? c.exp : undefined };
  } catch {
    return null;
  }
}
