import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";
import { api } from "./api";
import { binPath, FILTER_KEYS, navigate, withParams } from "./router";
import { emptyFilters, type AlertEvent, type Bin, type Filters, type RequestSummary } from "./types";
import { insertIndex, isoToLocal, localToISO } from "./format";
import { LiveFeed, type LiveRefusal, type LiveState } from "./live";
import { CopyButton, Empty } from "./ui";
import { RequestList } from "./list";
import { RequestDetail } from "./detail";
import { highlightTerm, SearchHelp } from "./searchhelp";
import { binURL } from "./bin";
import { ExportButton } from "./export";
import { BulkReplay } from "./replays";

interface ListData {
  items: RequestSummary[];
  ids: Set<string>;
  next: string | null;
  loading: boolean;
  error: string;
  gen: number;
}

// filtersFrom reads the list's filters from the query string.
export function filtersFrom(p: URLSearchParams): Filters {
  const f: Filters = { ...emptyFilters };
  for (const k of FILTER_KEYS) f[k] = p.get(k) ?? "";
  return f;
}

// The keys that stay in the URL while moving between requests.
const LIST_KEYS = [...FILTER_KEYS, "tab"];

// Follow opens each new request on wide screens; on a phone the detail
// covers the list, so following there only moves the cursor to the top.
const wide = () => typeof matchMedia !== "function" || matchMedia("(min-width: 761px)").matches;

export function RequestsView({ bin, openId, search, readOnly, onAlert }: { bin: Bin; openId?: string; search: string; readOnly: boolean; onAlert?: (e: AlertEvent | null) => void }) {
  const params = useMemo(() => new URLSearchParams(search), [search]);
  const alertRef = useRef(onAlert);
  alertRef.current = onAlert;
  const fkey = FILTER_KEYS.map((k) => params.get(k) ?? "").join("\u0000");
  const filters = useMemo(() => filtersFrom(params), [fkey]);
  const setFilters = (f: Filters) => {
    const set: Record<string, string> = {};
    for (const k of FILTER_KEYS) set[k] = f[k];
    navigate(withParams(location.pathname, set), true);
  };
  const [qInput, setQInput] = useState(filters.q);
  const [showFilters, setShowFilters] = useState(() => FILTER_KEYS.some((k) => k !== "q" && filters[k]));
  const data = useRef<ListData>({ items: [], ids: new Set(), next: null, loading: false, error: "", gen: 0 });
  const [version, bump] = useReducer((x: number, _a: void) => x + 1, 0);
  const [live, setLive] = useState<LiveState>("connecting");
  const [refusal, setRefusal] = useState<LiveRefusal | null>(null);
  const [paused, setPaused] = useState(false);
  const pausedRef = useRef(false);
  const buffer = useRef<RequestSummary[]>([]);
  const [follow, setFollowState] = useState(false);
  const followRef = useRef(false);
  const followDefaulted = useRef(false);
  const [total, setTotal] = useState<{ count: number; capped: boolean } | null>(null);
  const [newAbove, setNewAbove] = useState(0);
  const [unseen, setUnseen] = useState(0);
  const atTop = useRef(true);
  const [toTop, scrollToTop] = useReducer((x: number, _a: void) => x + 1, 0);
  const [cursor, setCursorState] = useState<string | undefined>(openId);
  // The key handler reads the cursor from a ref so that fast key repeats
  // never act on a stale render.
  const cursorRef = useRef<string | undefined>(openId);
  const setCursor = (id: string | undefined) => {
    cursorRef.current = id;
    setCursorState(id);
  };

  const open = (id: string, replace = false) =>
    navigate(withParams(binPath(bin.id, `/requests/${encodeURIComponent(id)}`), {}, LIST_KEYS), replace);
  const close = () => navigate(withParams(binPath(bin.id), {}, FILTER_KEYS));

  const showNewest = () => {
    const top = data.current.items[0];
    if (!top) return;
    setCursor(top.id);
    if (wide()) open(top.id, true);
  };
  const setFollow = (on: boolean) => {
    followRef.current = on;
    setFollowState(on);
    if (on) {
      scrollToTop();
      showNewest();
    }
  };

  // Debounced search box into the URL; the URL back into the box.
  useEffect(() => {
    if (qInput === filters.q) return;
    // Only q changes: the other filters may have changed meanwhile.
    const t = setTimeout(() => navigate(withParams(location.pathname, { q: qInput }), true), 250);
    return () => clearTimeout(t);
  }, [qInput]);
  useEffect(() => {
    setQInput((cur) => (cur === filters.q ? cur : filters.q));
  }, [filters.q]);

  // The records of replays that arrived live, by original id.
  const replays = useRef(new Map<string, RequestSummary[]>());
  const [replayTick, bumpReplays] = useReducer((x: number, _a: void) => x + 1, 0);
  const groupReplay = (r: RequestSummary): boolean => {
    const orig = r.replay_of!;
    const l = replays.current.get(orig) ?? [];
    if (!l.some((x) => x.id === r.id)) {
      replays.current.set(orig, [r, ...l]);
      bumpReplays();
    }
    return true;
  };

  const insert = useCallback((rs: RequestSummary[]): number => {
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
    return added;
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

  // Exact totals from the count API; live arrivals add to it, and a quiet
  // moment after a burst re-asks so that the figure never drifts.
  const recount = useRef<number | undefined>(undefined);
  const countNow = useCallback(() => {
    const gen = data.current.gen;
    api
      .countRequests(bin.id, filters)
      .then((c) => gen === data.current.gen && setTotal({ count: c.count, capped: !!c.capped }))
      .catch(() => {
        /* the list still shows what it loaded */
      });
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
    setTotal(null);
    setNewAbove(0);
    bump();
    countNow();
    let feed: LiveFeed | null = null;
    let stop = false;
    loadMore().then(() => {
      if (stop) return;
      // Follow is on by default for a bin that has nothing yet.
      if (!followDefaulted.current) {
        followDefaulted.current = true;
        if (data.current.items.length === 0 && !FILTER_KEYS.some((k) => filters[k])) {
          followRef.current = true;
          setFollowState(true);
        }
      }
      if (filters.until) {
        setLive("off");
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
        onRequests: (all) => {
          // Replays stay out of the list unless shown: they are grouped
          // under their original (the detail's Replays block).
          const rs = filters.replays ? all : all.filter((r) => !r.replay_of || !groupReplay(r));
          if (rs.length === 0) return;
          if (pausedRef.current) {
            buffer.current.push(...rs);
            bump();
            return;
          }
          arrived(insert(rs));
        },
        onState: (st) => {
          setLive(st);
          // (Re)connected: alerts pushed meanwhile are read again.
          if (st === "live") alertRef.current?.(null);
        },
        onRefused: setRefusal,
        onAlert: (e) => alertRef.current?.(e),
      });
    });
    return () => {
      stop = true;
      feed?.close();
      setRefusal(null);
      clearTimeout(recount.current);
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [bin.id, filters]);

  const arrived = (added: number) => {
    if (!added) return;
    setTotal((t) => (t ? { ...t, count: t.count + added } : t));
    clearTimeout(recount.current);
    recount.current = window.setTimeout(countNow, 2000);
    if (followRef.current) {
      showNewest();
    } else if (!atTop.current) setNewAbove((n) => n + added);
    if (document.hidden || (!atTop.current && !followRef.current)) setUnseen((n) => n + added);
  };

  const togglePause = () => {
    const p = !pausedRef.current;
    pausedRef.current = p;
    setPaused(p);
    if (!p && buffer.current.length) {
      const b = buffer.current;
      buffer.current = [];
      arrived(insert(b));
    }
  };

  // The tab title counts what arrived unseen: while the tab was hidden or
  // the list was scrolled away from the newest.
  useEffect(() => {
    const base = `${bin.name || bin.id} · hookscope`;
    document.title = unseen > 0 ? `(${unseen}) ${base}` : base;
  }, [unseen, bin.name, bin.id]);
  useEffect(() => {
    const onVis = () => {
      if (!document.hidden && atTop.current) setUnseen(0);
    };
    document.addEventListener("visibilitychange", onVis);
    return () => {
      document.removeEventListener("visibilitychange", onVis);
      document.title = "hookscope";
    };
  }, []);
  const onAtTop = (top: boolean) => {
    atTop.current = top;
    if (top) {
      setNewAbove(0);
      if (!document.hidden) setUnseen(0);
    }
  };

  useEffect(() => {
    if (openId) setCursor(openId);
  }, [openId]);

  // A deep link to an older request: page back until the list holds it, so
  // that it can be shown in place (UUIDv7 ids sort by time).
  useEffect(() => {
    const d = data.current;
    if (!openId || d.ids.has(openId) || d.loading || !d.next || d.items.length === 0 || d.items.length > 50000) return;
    if (d.items[d.items.length - 1].id > openId) loadMore();
  }, [version, openId, loadMore]);

  const items = data.current.items;

  // Keyboard: j/k or arrows move and open, Enter opens, Escape closes, / focuses search.
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
      const move = (n: number) => {
        if (n < 0 || n >= list.length) return;
        if (followRef.current && n !== 0) setFollow(false);
        setCursor(list[n].id);
        if (wide()) open(list[n].id, true);
      };
      if (e.key === "j" || e.key === "ArrowDown") {
        e.preventDefault();
        move(Math.min(idx + 1, list.length - 1));
        if (idx + 1 >= list.length - 20) loadMore();
      } else if (e.key === "k" || e.key === "ArrowUp") {
        e.preventDefault();
        move(Math.max(idx - 1, 0));
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
  const activeFilters = FILTER_KEYS.filter((k) => k !== "q" && filters[k]).length;
  const d = data.current;
  const refused = bin.refused_count ?? 0;

  return (
    <div class={`requests ${openId ? "has-detail" : ""}`}>
      <div class="listpane">
        <div class="toolbar">
          <input
            id="search"
            type="search"
            class="search"
            placeholder="Search…  e.g. status:5xx  ( / )"
            value={qInput}
            onInput={(e) => setQInput(e.currentTarget.value)}
            aria-label="Search requests"
          />
          <SearchHelp onExample={setQInput} />
          <button type="button" class={`btn btn-small ${activeFilters ? "btn-accent" : ""}`} onClick={() => setShowFilters(!showFilters)} aria-expanded={showFilters}>
            Filters{activeFilters ? ` (${activeFilters})` : ""}
          </button>
          <button
            type="button"
            class={`btn btn-small ${follow ? "btn-accent" : ""}`}
            onClick={() => setFollow(!follow)}
            aria-pressed={follow}
            data-testid="follow"
            title="Open each new request as it arrives"
          >
            {follow ? "Following" : "Follow"}
          </button>
          <button type="button" class="btn btn-small" onClick={togglePause} data-testid="pause">
            {paused ? `Resume${buffer.current.length ? ` (${buffer.current.length} new)` : ""}` : "Pause"}
          </button>
          <span class={`live live-${paused ? "paused" : refusal && live !== "live" ? "refused" : live}`} data-testid="live-state" title={refusal && live !== "live" ? `Live feed refused: ${refusal.message}` : "Live feed"}>
            <span class="dot" aria-hidden="true" />
            <span class="live-label">{paused ? "paused" : live === "live" ? "live" : live === "off" ? "history" : refusal ? "refused" : live === "connecting" ? "connecting" : "reconnecting"}</span>
          </span>
        </div>
        {refusal && live !== "live" && live !== "off" && (
          <div class="banner banner-warn" role="status" data-testid="live-refused">
            Live feed refused: {refusal.message}
            {refusal.retryMs > 0 ? `; retrying in ${Math.round(refusal.retryMs / 1000)} s` : "; retrying"}
          </div>
        )}
        {showFilters && <FilterBar filters={filters} onChange={setFilters} />}
        <div class="listmeta muted small">
          <span data-testid="count">
            {total
              ? `${total.capped ? `${total.count.toLocaleString()}+` : total.count.toLocaleString()} request${total.count === 1 && !total.capped ? "" : "s"}`
              : `${items.length.toLocaleString()}${d.next ? "+" : ""} request${items.length === 1 ? "" : "s"}`}
          </span>
          {refused > 0 && (
            <span class="refused" data-testid="refused-count" title="Captures answered 429/431 before they were recorded (rate limits, header limits), since the server started">
              {refused.toLocaleString()} refused
            </span>
          )}
          {d.loading && <span>loading…</span>}
          {d.error && <span class="err">{d.error}</span>}
          <span class="listmeta-actions">
            <ExportButton bin={bin.id} filters={filters} />
            {!readOnly && <BulkReplay bin={bin} filters={filters} />}
          </span>
        </div>
        <div class="listwrap">
        {newAbove > 0 && (
          <button type="button" class="new-marker" data-testid="new-marker" onClick={() => scrollToTop()}>
            {newAbove} new ↑
          </button>
        )}
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
            reveal={openId}
            toTop={toTop}
            highlight={highlightTerm(filters.q)}
            onAtTop={onAtTop}
            onOpen={(id) => {
              if (followRef.current && id !== data.current.items[0]?.id) setFollow(false);
              setCursor(id);
              open(id);
            }}
            onEnd={() => d.next && loadMore()}
          />
        )}
        </div>
      </div>
      <div class="detailpane">
        {openId ? (
          <RequestDetail key={openId} bin={bin} id={openId} summary={openSummary} onClose={close} tab={params.get("tab") || "body"} find={highlightTerm(filters.q)} readOnly={readOnly} liveReplays={replays.current.get(openId)} replayTick={replayTick} />
        ) : (
          <Empty title={follow ? "Following: the next request opens here" : "Select a request"}>
            <p>
              <kbd>j</kbd>/<kbd>k</kbd> or arrows to open the next or previous, <kbd>/</kbd> to search.
            </p>
          </Empty>
        )}
      </div>
    </div>
  );
}

// Presets of the time range: the window ending now (live stays on).
const PRESETS: [string, number][] = [
  ["15m", 15 * 60e3],
  ["1h", 3600e3],
  ["24h", 86400e3],
  ["7d", 7 * 86400e3],
];

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
          placeholder="e.g. 203.0.113.7"
          aria-label="IP filter"
        />
      </label>
      <label>
        Replays
        <select value={filters.replays} onChange={(e) => set("replays", e.currentTarget.value)} aria-label="Replays filter" title="Replays are kept out of the list, its filters and counts, and shown under their original">
          <option value="">grouped</option>
          <option value="include">listed</option>
          <option value="only">only</option>
        </select>
      </label>
      <div class="presets" role="group" aria-label="Time presets">
        {PRESETS.map(([label, ms]) => (
          <button key={label} type="button" class="btn btn-small btn-ghost" data-testid={`preset-${label}`} onClick={() => onChange({ ...filters, since: new Date(Date.now() - ms).toISOString(), until: "" })}>
            last {label}
          </button>
        ))}
      </div>
      <label class="wide">
        Since
        <input type="datetime-local" step={1} value={isoToLocal(filters.since)} onChange={(e) => set("since", localToISO(e.currentTarget.value))} aria-label="Since" />
      </label>
      <label class="wide">
        Until
        <input type="datetime-local" step={1} value={isoToLocal(filters.until)} onChange={(e) => set("until", localToISO(e.currentTarget.value))} aria-label="Until" />
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
