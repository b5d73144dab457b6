import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from "preact/hooks";
import { api, ApiError } from "./api";
import { binPath, navigate, type Route } from "./router";
import { rememberBin, setToken, tokenFor, tokenInfo, type Theme } from "./storage";
import type { AlertEvent, Bin } from "./types";
import { LiveFeed } from "./live";
import { CopyButton, Empty } from "./ui";
import { RequestsView } from "./requests";
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

// useRefusals polls the bin for its refused_count (captures answered 429/431
// before they were recorded) and tells whether the count is rising now.
function useRefusals(bin: Bin | null, setBin: (b: Bin) => void, active: boolean) {
  const [rising, setRising] = useState<{ n: number; until: number } | null>(null);
  const last = useRef<number | undefined>(undefined);
  const id = bin?.id;
  useEffect(() => {
    if (!id || !active) return;
    let stop = false;
    const poll = () =>
      api
        .getBin(id)
        .then((b) => {
          if (stop) return;
          const n = b.refused_count ?? 0;
          const prev = last.current;
          last.current = n;
          if (prev !== undefined && n > prev) setRising((r) => ({ n: (r && r.until > Date.now() ? r.n : 0) + (n - prev), until: Date.now() + 10000 }));
          else setRising((r) => (r && r.until <= Date.now() ? null : r));
          setBin(b);
        })
        .catch(() => {});
    poll();
    const t = setInterval(poll, 3000);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, [id, active]);
  return rising;
}

// useAlertFeed keeps the bin's alert events coming over the live connection
// (no polling): on the Requests tab the requests feed carries them (passed
// up through onAlert), on the other tabs a feed of alert events alone runs.
// tick changes on every pushed event and on every (re)connection, when
// whoever shows alerts re-reads them (what a gap may have hidden).
function useAlertFeed(id: string | undefined, onRequestsTab: boolean) {
  const [tick, bump] = useReducer((x: number, _a: void) => x + 1, 0);
  const onAlert = useCallback((_e: AlertEvent | null) => bump(), []);
  useEffect(() => {
    if (!id || onRequestsTab) return;
    const feed = new LiveFeed({
      bin: id,
      filters: {},
      onlyAlerts: true,
      lastId: () => undefined,
      onRequests: () => {},
      onState: (s) => s === "live" && onAlert(null),
      onAlert,
    });
    return () => feed.close();
  }, [id, onRequestsTab]);
  return { tick, onAlert };
}

// useAlertDot tells whether an alert fired since this browser last looked at
// the bin's Alerts tab (a dot on the tab, whatever tab is open). It reads the
// events API when the page opens and whenever the live connection pushes an
// alert event or reconnects (tick); the first read of a bin never seen here
// sets the baseline.
function useAlertDot(id: string | undefined, onAlerts: boolean, tick: number) {
  const [dot, setDot] = useState(false);
  const newest = useRef("");
  const key = `hookscope.alerts-seen.${id}`;
  const onAlertsRef = useRef(onAlerts);
  onAlertsRef.current = onAlerts;
  useEffect(() => {
    if (!id) return;
    let stop = false;
    api
      .alertEvents(id)
      .then((evs) => {
        if (stop) return;
        const firing = evs.filter((e) => e.state === "firing").map((e) => `${e.at}|${e.id}`);
        const top = firing.reduce((m, x) => (x > m ? x : m), "");
        newest.current = top;
        let seen: string | null = null;
        try {
          seen = localStorage.getItem(key);
          if (seen === null || onAlertsRef.current) localStorage.setItem(key, top);
        } catch {
          /* no storage: no dot */
        }
        setDot(seen !== null && !onAlertsRef.current && top > seen);
      })
      .catch(() => {
        /* no alerting on this server: no dot */
      });
    return () => {
      stop = true;
    };
  }, [id, tick]);
  useEffect(() => {
    if (!onAlerts || !id) return;
    try {
      localStorage.setItem(key, newest.current);
    } catch {
      /* ignore */
    }
    setDot(false);
  }, [onAlerts, id]);
  return dot;
}

export function BinPage({ route, theme }: { route: BinRoute; theme: Theme }) {
  const { bin, err, setBin, reload } = useBin(route.bin);
  const [tokenInput, setTokenInput] = useState("");
  const refusing = useRefusals(bin, setBin, route.tab === "requests");
  const alertFeed = useAlertFeed(bin?.id, route.tab === "requests");
  const alertDot = useAlertDot(bin?.id, route.tab === "alerts", alertFeed.tick);
  // A share link's token reads only: every control that would change the
  // bin is left out rather than failing after a click.
  const tok = bin ? tokenFor(bin.id) : undefined;
  const info = useMemo(() => tokenInfo(tok), [tok]);
  const readOnly = info?.scope === "read";

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
    ...(readOnly ? [] : ([["settings", "Settings"]] as [BinRoute["tab"], string][])),
    ["alerts", "Alerts"],
  ];
  return (
    <main class="binpage">
      {readOnly && (
        <div class="banner banner-info" data-testid="readonly-banner" role="status">
          Read-only link{info?.exp ? ` · expires ${new Date(info.exp * 1000).toLocaleString()}` : ""}. You can read requests; changing the bin needs its owner.
        </div>
      )}
      {refusing && refusing.until > Date.now() && (
        <div class="banner banner-warn" data-testid="refusing-banner" role="alert">
          Requests are being refused: {refusing.n.toLocaleString()} answered 429/431 in the last seconds and not recorded (rate or header limits). Senders see an error and may retry.
        </div>
      )}
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
            {t === "alerts" && alertDot && <span class="tab-dot" data-testid="alert-dot" title="An alert fired since you last looked" />}
          </a>
        ))}
      </nav>
      {route.tab === "requests" && <RequestsView bin={bin} openId={route.request} search={route.search} readOnly={readOnly} onAlert={alertFeed.onAlert} />}
      {route.tab === "settings" &&
        (readOnly ? (
          <Empty title="Settings need the bin's owner">
            <p>This read-only link can show requests, stats and alerts, not change them.</p>
          </Empty>
        ) : (
          <SettingsPanel bin={bin} onSaved={setBin} />
        ))}
      {route.tab === "alerts" && <AlertsPanel bin={bin} readOnly={readOnly} tick={alertFeed.tick} />}
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
        <button type="button" class="btn btn-small curl-toggle" onClick={() => setShowCurl(!showCurl)} aria-expanded={showCurl}>
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
