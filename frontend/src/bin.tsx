import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";
import { api, ApiError } from "./api";
import { binPath, navigate, type Route } from "./router";
import { rememberBin, setToken, type Theme } from "./storage";
import { emptyFilters, type Bin, type Filters, type RequestSummary } from "./types";
import { insertIndex } from "./format";
import { LiveFeed, type LiveState } from "./live";
import { CopyButton, Empty } from "./ui";
import { RequestList } from "./list";
import { RequestDetail } from "./detail";
import { SettingsPanel } from "./settings";
import { AlertsPanel } from "./alerts";
import type { StatsPanel as StatsPanelT } from "./stats";

type BinRoute = Extract<Route, { page: "bin" }>;

export function binURL(b: Bin): string {
  return b.url || `${location.origin}/h/${b.id}`;
}

function useBin(id: string) {
  const [bin, setBin] = useState<Bin | null>(null);
  const [err, setErr] = useState<ApiError | null>(null);
  const [tick, reload] = useReducer((x: number, _a: void) => x + 1, 0);
  useEffect(() => {
    // A share link carries ?token=: keep it for this bin and clean the URL.
    const u = new URL(location.href);
    const t = u.searchParams.get("token");
    if (t) {
      setToken(id, t);
      u.searchParams.delete("token");
      history.replaceState(null, "", u.pathname + u.search);
    }
  }, [id]);
  useEffect(() => {
    let stop = false;
    api
      .getBin(id)
      .then((b) => {
        if (stop) return;
        setBin(b);
        setErr(null);
        rememberBin({ id: b.id, name: b.name, url: binURL(b), created_at: b.created_at, private: b.private });
      })
      .catch((e) => !stop && setErr(e instanceof ApiError ? e : new ApiError(0, String(e))));
    return () => {
      stop = true;
    };
  }, [id, tick]);
  return { bin, err, setBin, reload };
}

export function BinPage({ route, theme }: { route: BinRoute; theme: Theme }) {
  const { bin, err, setBin, reload } = useBin(route.bin);
  const [tokenInput, setTokenInput] = useState("");

  if (err && !bin) {
    if (err.status === 401 || err.status === 403) {
      return (
        <main class="page">
          <Empty title="This bin is private">
            <p>Paste its token (or open its share link) to read it.</p>
            <form
              class="open-form"
              onSubmit={(e) => {
                e.preventDefault();
                if (tokenInput.trim()) {
                  setToken(route.bin, tokenInput.trim());
                  reload();
                }
              }}
            >
              <input value={tokenInput} onInput={(e) => setTokenInput(e.currentTarget.value)} placeholder="token" aria-label="Token" />
              <button class="btn btn-primary" type="submit">
                Open
              </button>
            </form>
          </Empty>
        </main>
      );
    }
    return (
      <main class="page">
        <Empty title={err.status === 404 ? "Bin not found" : "Could not load the bin"}>
          <p>{err.status === 404 ? "It may have expired or been deleted." : err.message}</p>
          <p>
            <a href="/" onClick={(e) => (e.preventDefault(), navigate("/"))}>
              Create a new bin
            </a>
          </p>
        </Empty>
      </main>
    );
  }
  if (!bin) return <main class="page loading">Loading…</main>;

  const tabs: [BinRoute["tab"], string][] = [
    ["requests", "Requests"],
    ["stats", "Stats"],
    ["settings", "Settings"],
    ["alerts", "Alerts"],
  ];
  return (
    <main class="binpage">
      <BinHeader bin={bin} />
      <nav class="tabs" aria-label="Bin sections">
        {tabs.map(([t, label]) => (
          <a
            key={t}
            href={binPath(bin.id, t === "requests" ? "" : "/" + t)}
            class={`tab ${route.tab === t ? "active" : ""}`}
            aria-current={route.tab === t ? "page" : undefined}
            onClick={(e) => {
              e.preventDefault();
              navigate(binPath(bin.id, t === "requests" ? "" : "/" + t));
            }}
          >
            {label}
          </a>
        ))}
      </nav>
      {route.tab === "requests" && <RequestsView bin={bin} openId={route.request} />}
      {route.tab === "settings" && <SettingsPanel bin={bin} onSaved={setBin} />}
      {route.tab === "alerts" && <AlertsPanel bin={bin} />}
      {route.tab === "stats" && <LazyStats bin={bin} theme={theme} />}
    </main>
  );
}

function BinHeader({ bin }: { bin: Bin }) {
  const url = binURL(bin);
  const [showCurl, setShowCurl] = useState(false);
  const examples: [string, string][] = [
    ["JSON", `curl -X POST '${url}' -H 'Content-Type: application/json' -d '{"event":"order.paid","amount":4200}'`],
    ["Form", `curl -X POST '${url}/form' -d 'name=alice&plan=pro'`],
    ["GET", `curl '${url}/ping?source=curl'`],
    ["File", `curl -X PUT '${url}/upload' -H 'Content-Type: application/octet-stream' --data-binary @file.bin`],
  ];
  return (
    <section class="binhead">
      <div class="binhead-row">
        <div class="bin-title">
          <h1>{bin.name || "Untitled bin"}</h1>
          {bin.private && <span class="pill">private</span>}
          {bin.expires_at && <span class="muted small">expires {new Date(bin.expires_at).toLocaleString()}</span>}
        </div>
      </div>
      <div class="urlbar">
        <code class="url mono" data-testid="bin-url">
          {url}
        </code>
        <CopyButton text={url} label="Copy URL" className="btn-primary" />
        <button type="button" class="btn btn-small" onClick={() => setShowCurl(!showCurl)} aria-expanded={showCurl}>
          {showCurl ? "Hide curl" : "curl examples"}
        </button>
      </div>
      {showCurl && (
        <div class="curl-examples">
          {examples.map(([label, cmd]) => (
            <div class="curl-row" key={label}>
              <span class="curl-label">{label}</span>
              <code class="mono">{cmd}</code>
              <CopyButton text={cmd} />
            </div>
          ))}
        </div>
      )}
    </section>
  );
}

interface ListData {
  items: RequestSummary[];
  ids: Set<string>;
  next: string | null;
  loading: boolean;
  error: string;
  gen: number;
}

function RequestsView({ bin, openId }: { bin: Bin; openId?: string }) {
  const [filters, setFilters] = useState<Filters>(emptyFilters);
  const [qInput, setQInput] = useState("");
  const [showFilters, setShowFilters] = useState(false);
  const data = useRef<ListData>({ items: [], ids: new Set(), next: null, loading: false, error: "", gen: 0 });
  const [version, bump] = useReducer((x: number, _a: void) => x + 1, 0);
  const [live, setLive] = useState<LiveState>("connecting");
  const [paused, setPaused] = useState(false);
  const pausedRef = useRef(false);
  const buffer = useRef<RequestSummary[]>([]);
  const [cursor, setCursorState] = useState<string | undefined>(openId);
  // The key handler reads the cursor from a ref so that fast key repeats
  // never act on a stale render.
  const cursorRef = useRef<string | undefined>(openId);
  const setCursor = (id: string | undefined) => {
    cursorRef.current = id;
    setCursorState(id);
  };

  // Debounced search box.
  useEffect(() => {
    const t = setTimeout(() => setFilters((f) => (f.q === qInput ? f : { ...f, q: qInput })), 250);
    return () => clearTimeout(t);
  }, [qInput]);

  const insert = useCallback((rs: RequestSummary[]) => {
    const d = data.current;
    let added = 0;
    for (const r of rs) {
      if (!r || d.ids.has(r.id)) continue;
      d.ids.add(r.id);
      if (d.items.length === 0 || r.id > d.items[0].id) d.items.unshift(r);
      else d.items.splice(insertIndex(d.items, r.id, (x) => x.id), 0, r);
      added++;
    }
    if (added) bump();
  }, []);

  const loadMore = useCallback(async () => {
    const d = data.current;
    if (d.loading || (d.next === null && d.items.length > 0)) return;
    const gen = d.gen;
    d.loading = true;
    bump();
    try {
      const page = await api.listRequests(bin.id, filters, d.next, d.items.length ? 500 : 100);
      if (gen !== d.gen) return;
      for (const r of page.requests || []) {
        if (d.ids.has(r.id)) continue;
        d.ids.add(r.id);
        d.items.push(r);
      }
      d.next = page.next ?? null;
      d.error = "";
    } catch (e: any) {
      if (gen === d.gen) d.error = e.message || String(e);
    } finally {
      if (gen === d.gen) {
        d.loading = false;
        bump();
      }
    }
  }, [bin.id, filters]);

  // (Re)load history and (re)connect the live feed whenever filters change.
  useEffect(() => {
    const d = data.current;
    d.gen++;
    d.items = [];
    d.ids = new Set();
    d.next = null;
    d.loading = false;
    d.error = "";
    buffer.current = [];
    bump();
    let feed: LiveFeed | null = null;
    let stop = false;
    loadMore().then(() => {
      if (stop || filters.until) {
        if (filters.until) setLive("off");
        return;
      }
      feed = new LiveFeed({
        bin: bin.id,
        filters,
        lastId: () => {
          const b = buffer.current;
          const top = data.current.items[0]?.id;
          const bt = b.length ? b.reduce((m, r) => (r.id > m ? r.id : m), b[0].id) : undefined;
          return bt && (!top || bt > top) ? bt : top;
        },
        onRequests: (rs) => {
          if (pausedRef.current) {
            buffer.current.push(...rs);
            bump();
          } else insert(rs);
        },
        onState: setLive,
      });
    });
    return () => {
      stop = true;
      feed?.close();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [bin.id, filters]);

  const togglePause = () => {
    const p = !pausedRef.current;
    pausedRef.current = p;
    setPaused(p);
    if (!p && buffer.current.length) {
      const b = buffer.current;
      buffer.current = [];
      insert(b);
    }
  };

  useEffect(() => {
    if (openId) setCursor(openId);
  }, [openId]);

  const items = data.current.items;
  const open = (id: string) => navigate(binPath(bin.id, `/requests/${encodeURIComponent(id)}`));
  const close = () => navigate(binPath(bin.id));

  // Keyboard: j/k or arrows move, Enter opens, Escape closes, / focuses search.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) {
        if (e.key === "Escape") t.blur();
        return;
      }
      if (e.metaKey || e.ctrlKey || e.altKey) return;
      const list = data.current.items;
      const cursor = cursorRef.current;
      const idx = cursor ? list.findIndex((r) => r.id === cursor) : -1;
      if (e.key === "j" || e.key === "ArrowDown") {
        e.preventDefault();
        const n = Math.min(idx + 1, list.length - 1);
        if (n >= 0) setCursor(list[n].id);
        if (n >= list.length - 20) loadMore();
      } else if (e.key === "k" || e.key === "ArrowUp") {
        e.preventDefault();
        const n = Math.max(idx - 1, 0);
        if (list.length) setCursor(list[n].id);
      } else if (e.key === "Enter") {
        if (cursor) {
          e.preventDefault();
          open(cursor);
        }
      } else if (e.key === "Escape") {
        if (openId) close();
      } else if (e.key === "/") {
        e.preventDefault();
        document.getElementById("search")?.focus();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [bin.id, openId, loadMore]);

  const openSummary = useMemo(() => (openId ? items.find((r) => r.id === openId) : undefined), [openId, version]);
  const activeFilters = Object.entries(filters).filter(([k, v]) => k !== "q" && v).length;
  const d = data.current;

  return (
    <div class={`requests ${openId ? "has-detail" : ""}`}>
      <div class="listpane">
        <div class="toolbar">
          <input
            id="search"
            type="search"
            class="search"
            placeholder="Search path, headers, body…  ( / )"
            value={qInput}
            onInput={(e) => setQInput(e.currentTarget.value)}
            aria-label="Search requests"
          />
          <button type="button" class={`btn btn-small ${activeFilters ? "btn-accent" : ""}`} onClick={() => setShowFilters(!showFilters)} aria-expanded={showFilters}>
            Filters{activeFilters ? ` (${activeFilters})` : ""}
          </button>
          <button type="button" class="btn btn-small" onClick={togglePause} data-testid="pause">
            {paused ? `Resume${buffer.current.length ? ` (${buffer.current.length} new)` : ""}` : "Pause"}
          </button>
          <span class={`live live-${paused ? "paused" : live}`} data-testid="live-state" title="Live feed">
            <span class="dot" aria-hidden="true" />
            {paused ? "paused" : live === "live" ? "live" : live === "off" ? "history" : live === "connecting" ? "connecting" : "reconnecting"}
          </span>
        </div>
        {showFilters && <FilterBar filters={filters} onChange={setFilters} />}
        <div class="listmeta muted small">
          <span data-testid="count">
            {items.length.toLocaleString()}
            {d.next ? "+" : ""} request{items.length === 1 ? "" : "s"}
          </span>
          {d.loading && <span>loading…</span>}
          {d.error && <span class="err">{d.error}</span>}
        </div>
        {items.length === 0 && !d.loading ? (
          <Empty title={filters.q || activeFilters ? "No matching requests" : "Waiting for the first request"}>
            {!(filters.q || activeFilters) && (
              <>
                <p>Send anything to the URL above; it shows up here instantly. For example:</p>
                <div class="curl-row first-curl">
                  <code class="mono">{`curl -X POST '${binURL(bin)}' -H 'Content-Type: application/json' -d '{"hello":"world"}'`}</code>
                  <CopyButton text={`curl -X POST '${binURL(bin)}' -H 'Content-Type: application/json' -d '{"hello":"world"}'`} />
                </div>
              </>
            )}
          </Empty>
        ) : (
          <RequestList
            items={items}
            version={version}
            cursor={cursor}
            openId={openId}
            onOpen={(id) => {
              setCursor(id);
              open(id);
            }}
            onEnd={() => d.next && loadMore()}
          />
        )}
      </div>
      <div class="detailpane">
        {openId ? (
          <RequestDetail key={openId} bin={bin} id={openId} summary={openSummary} onClose={close} />
        ) : (
          <Empty title="Select a request">
            <p>
              <kbd>j</kbd>/<kbd>k</kbd> or arrows to move, <kbd>Enter</kbd> to open, <kbd>/</kbd> to search.
            </p>
          </Empty>
        )}
      </div>
    </div>
  );
}

function FilterBar({ filters, onChange }: { filters: Filters; onChange: (f: Filters) => void }) {
  const [ip, setIp] = useState(filters.ip);
  const set = (k: keyof Filters, v: string) => onChange({ ...filters, [k]: v });
  return (
    <div class="filters" data-testid="filters">
      <label>
        Method
        <select value={filters.method} onChange={(e) => set("method", e.currentTarget.value)} aria-label="Method filter">
          <option value="">any</option>
          {["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"].map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
      </label>
      <label>
        Status
        <select value={filters.status} onChange={(e) => set("status", e.currentTarget.value)} aria-label="Status filter">
          <option value="">any</option>
          {["2xx", "3xx", "4xx", "5xx", "200", "201", "202", "204", "400", "401", "404", "413", "429", "500", "503"].map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </label>
      <label>
        Signature
        <select value={filters.signature} onChange={(e) => set("signature", e.currentTarget.value)} aria-label="Signature filter">
          <option value="">any</option>
          <option value="valid">valid</option>
          <option value="invalid">invalid</option>
          <option value="missing">missing</option>
          <option value="unchecked">unchecked</option>
        </select>
      </label>
      <label>
        Sender IP
        <input
          value={ip}
          onInput={(e) => setIp(e.currentTarget.value)}
          onBlur={() => ip !== filters.ip && set("ip", ip)}
          onKeyDown={(e) => e.key === "Enter" && set("ip", ip)}
          placeholder="203.0.113.7"
          aria-label="IP filter"
        />
      </label>
      <label class="wide">
        Since
        <input type="datetime-local" value={filters.since} onChange={(e) => set("since", e.currentTarget.value)} aria-label="Since" />
      </label>
      <label class="wide">
        Until
        <input type="datetime-local" value={filters.until} onChange={(e) => set("until", e.currentTarget.value)} aria-label="Until" />
      </label>
      <button
        type="button"
        class="btn btn-small btn-ghost"
        onClick={() => {
          setIp("");
          onChange({ ...emptyFilters, q: filters.q });
        }}
      >
        Reset
      </button>
    </div>
  );
}


// The stats panel (and the chart library) loads on first use: the list and
// detail views, which people open most, stay small.
let statsModule: Promise<{ StatsPanel: typeof StatsPanelT }> | null = null;
function LazyStats(props: { bin: Bin; theme: Theme }) {
  const [mod, setMod] = useState<{ StatsPanel: typeof StatsPanelT } | null>(null);
  const [err, setErr] = useState("");
  useEffect(() => {
    statsModule ||= import("./stats");
    statsModule.then(setMod, (e) => {
      statsModule = null;
      setErr(String(e));
    });
  }, []);
  if (err) return <Empty title="Could not load the stats panel">{err}</Empty>;
  if (!mod) return <main class="page loading">Loading…</main>;
  return <mod.StatsPanel {...props} />;
}
