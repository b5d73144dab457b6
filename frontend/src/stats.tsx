import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { api } from "./api";
import type { Theme } from "./storage";
import type { Bin, Stats } from "./types";
import { formatLatency } from "./format";
import { Empty } from "./ui";
import { binPath, navigate, withParams } from "./router";

// openList shows the requests behind a chart: the list with these filters.
function openList(bin: string, set: Record<string, string>) {
  const p = new URLSearchParams(set);
  if (new URLSearchParams(location.search).get("replays") === "include") p.set("replays", "include");
  navigate(`${binPath(bin)}?${p}`);
}

const RANGES: Record<string, { ms: number; step: string; label: string }> = {
  "15m": { ms: 15 * 60e3, step: "1m", label: "15 min" },
  "1h": { ms: 3600e3, step: "1m", label: "1 hour" },
  "24h": { ms: 86400e3, step: "30m", label: "24 hours" },
  "7d": { ms: 7 * 86400e3, step: "6h", label: "7 days" },
};

function palette(theme: Theme) {
  const dark = theme === "dark";
  return {
    axis: dark ? "#9aa4b2" : "#5b6472",
    grid: dark ? "rgba(255,255,255,0.07)" : "rgba(0,0,0,0.07)",
    count: dark ? "#818cf8" : "#4f46e5",
    countFill: dark ? "rgba(129,140,248,0.35)" : "rgba(79,70,229,0.25)",
    p95: dark ? "#fbbf24" : "#d97706",
  };
}

export function StatsPanel({ bin, theme }: { bin: Bin; theme: Theme }) {
  // The window is part of the URL (?range=24h) like every view's state.
  const fromURL = new URLSearchParams(location.search).get("range") || "";
  const [range, setRangeState] = useState(RANGES[fromURL] ? fromURL : "1h");
  const setRange = (r: string) => {
    setRangeState(r);
    navigate(withParams(location.pathname, { range: r === "1h" ? undefined : r }), true);
  };
  // Replays are kept out of the figures unless asked (?replays=include).
  const [withReplays, setWithReplaysState] = useState(new URLSearchParams(location.search).get("replays") === "include");
  const setWithReplays = (on: boolean) => {
    setWithReplaysState(on);
    navigate(withParams(location.pathname, { replays: on ? "include" : undefined }), true);
  };
  const [stats, setStats] = useState<Stats | null>(null);
  const [err, setErr] = useState("");
  const [win, setWin] = useState<[number, number]>([0, 0]);
  useEffect(() => {
    let stop = false;
    const load = () => {
      const r = RANGES[range];
      const until = new Date();
      const since = new Date(until.getTime() - r.ms);
      api
        .stats(bin.id, since.toISOString(), until.toISOString(), r.step, withReplays)
        .then((s) => {
          if (!stop) {
            setWin([since.getTime() / 1000, until.getTime() / 1000]);
            setStats(s);
            setErr("");
          }
        })
        .catch((e) => !stop && setErr(e.message));
    };
    load();
    const t = setInterval(load, 10000);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, [bin.id, range, withReplays]);

  const lat = stats?.latency_us;
  return (
    <div class="panel stats" data-testid="stats">
      <div class="stats-head">
        <h2>Traffic</h2>
        <label class="check small stats-replays" title="Replays are left out of the figures unless included">
          <input type="checkbox" checked={withReplays} onChange={(e) => setWithReplays(e.currentTarget.checked)} data-testid="stats-replays" /> include replays
        </label>
        <div class="seg" role="tablist" aria-label="Time range">
          {Object.entries(RANGES).map(([k, v]) => (
            <button key={k} type="button" class={range === k ? "active" : ""} aria-selected={range === k} onClick={() => setRange(k)}>
              {v.label}
            </button>
          ))}
        </div>
      </div>
      {err && <p class="err">{err}</p>}
      {stats && (
        <>
          <div class="cards">
            <Card label="Requests" value={stats.total.toLocaleString()} />
            <Card label="p50 latency" value={formatLatency(lat?.p50)} />
            <Card label="p95 latency" value={formatLatency(lat?.p95)} />
            <Card label="p99 latency" value={formatLatency(lat?.p99)} />
          </div>
          <p class="muted small latency-note">
            Latency above is hookscope's own handling time{stats.forwarded || bin.settings?.forward?.url ? "; the forward target's is below" : ""}.
          </p>
          <section class="card chart-card">
            <h3>Requests over time</h3>
            <SeriesChart stats={stats} theme={theme} win={win} onPick={(since, until) => openList(bin.id, { since, until })} />
          </section>
          {(stats.forwarded || bin.settings?.forward?.url) && (
            <section class="card chart-card" data-testid="forward-stats">
              <h3>Forward target latency</h3>
              {stats.forwarded ? (
                <>
                  <div class="cards">
                    <Card label="Forwarded (answered)" value={stats.forwarded.toLocaleString()} />
                    <Card label="target p50" value={formatLatency(stats.forward_latency_us?.p50)} />
                    <Card label="target p95" value={formatLatency(stats.forward_latency_us?.p95)} />
                    <Card label="target p99" value={formatLatency(stats.forward_latency_us?.p99)} />
                  </div>
                  <ForwardChart stats={stats} theme={theme} win={win} onPick={(since, until) => openList(bin.id, { since, until })} />
                </>
              ) : (
                <p class="muted">No forward was answered by the target in this range.</p>
              )}
            </section>
          )}
          <div class="grid2">
            <section class="card chart-card">
              <h3>Status mix</h3>
              <BarChart
                name="status"
                data={stats.by_status || {}}
                theme={theme}
                color={(k) => (k.startsWith("5") ? "#dc2626" : k.startsWith("4") ? "#ea580c" : k.startsWith("3") ? "#0891b2" : "#16a34a")}
                onPick={(k) => openList(bin.id, { status: k, since: new Date(win[0] * 1000).toISOString() })}
              />
            </section>
            <section class="card chart-card">
              <h3>Methods</h3>
              <BarChart
                name="method"
                data={stats.by_method || {}}
                theme={theme}
                color={() => palette(theme).count}
                onPick={(k) => openList(bin.id, { method: k, since: new Date(win[0] * 1000).toISOString() })}
              />
            </section>
          </div>
          <div class="grid2">
            {stats.by_signature && Object.keys(stats.by_signature).length > 0 && (
              <section class="card">
                <h3>Signatures</h3>
                <MiniTable rows={Object.entries(stats.by_signature)} />
              </section>
            )}
            <section class="card">
              <h3>Top senders</h3>
              {stats.top_senders && stats.top_senders.length ? <MiniTable rows={stats.top_senders.map((s) => [s.ip, s.count])} mono /> : <p class="muted">-</p>}
            </section>
          </div>
        </>
      )}
      {!stats && !err && <Empty title="Loading stats…" />}
    </div>
  );
}

function Card({ label, value }: { label: string; value: string }) {
  return (
    <div class="stat">
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
    </div>
  );
}

function MiniTable({ rows, mono }: { rows: [string, number][]; mono?: boolean }) {
  return (
    <table class="table">
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <td class={mono ? "mono" : ""}>{k}</td>
            <td class="num">{v.toLocaleString()}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

// useUPlot creates a chart in a div, resizes it with its container and
// rebuilds it when its options change (theme).
function useUPlot(make: (width: number) => uPlot.Options, data: uPlot.AlignedData, deps: unknown[]) {
  const ref = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  useEffect(() => {
    const el = ref.current!;
    const u = new uPlot(make(Math.max(el.clientWidth, 200)), data, el);
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(el.clientWidth, 200), height: u.height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = null;
    };
  }, deps);
  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);
  return ref;
}

function SeriesChart({ stats, theme, win, onPick }: { stats: Stats; theme: Theme; win: [number, number]; onPick: (since: string, until: string) => void }) {
  const { s, hooks, x } = useBucketChart(stats, win, onPick);
  const data: uPlot.AlignedData = [s.map((p) => Date.parse(p.t) / 1000), s.map((p) => p.count), s.map((p) => (p.p95_latency_us ? p.p95_latency_us / 1000 : null))];
  const c = palette(theme);
  const ref = useUPlot(
    (width) => ({
      width,
      height: 220,
      cursor: { drag: { x: false, y: false } },
      legend: { show: true },
      hooks,
      scales: { x, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] }, ms: { range: (_u, _min, max) => [0, Math.max(1, (max || 1) * 1.1)] } },
      axes: [
        { stroke: c.axis, grid: { stroke: c.grid }, ticks: { stroke: c.grid } },
        { stroke: c.axis, grid: { stroke: c.grid }, ticks: { stroke: c.grid }, label: "requests", size: 50 },
        { scale: "ms", side: 1, stroke: c.axis, grid: { show: false }, label: "p95 ms", size: 50 },
      ],
      series: [
        {},
        { label: "requests", stroke: c.count, fill: c.countFill, paths: uPlot.paths.bars!({ size: [0.8, 40] }), points: { show: false } },
        { label: "p95 latency (ms)", scale: "ms", stroke: c.p95, width: 2, spanGaps: true, points: { show: true, size: 5, fill: c.p95 } },
      ],
    }),
    data,
    [theme],
  );
  return (
    <>
      {s.length === 0 && <p class="muted">No requests in this range.</p>}
      <div class={`chart clickable ${s.length === 0 ? "hidden" : ""}`} ref={ref} data-testid="series-chart" />
    </>
  );
}

// useBucketChart is what the time charts share: the series, a click on a
// bucket that opens the requests it counts, and an x scale over the chosen
// window. The chart is built once, so its callbacks read the latest values
// through refs.
function useBucketChart(stats: Stats, win: [number, number], onPick: (since: string, until: string) => void) {
  const winRef = useRef(win);
  winRef.current = win;
  const s = stats.series || [];
  const sRef = useRef(s);
  sRef.current = s;
  const pick = useRef(onPick);
  pick.current = onPick;
  const hooks: uPlot.Hooks.Arrays = {
    ready: [
      (u: uPlot) =>
        u.over.addEventListener("click", (e: MouseEvent) => {
          const w = bucketPick(u, e, sRef.current, winRef.current[1]);
          if (w) pick.current(w[0], w[1]);
        }),
    ],
  };
  const x: uPlot.Scale = { time: true, range: (_u, min, max) => (winRef.current[0] ? [winRef.current[0], winRef.current[1]] : [min, max]) };
  return { s, hooks, x };
}

// bucketPick turns a click on a time chart into the window of the bucket
// under it: [bucket start, next bucket start or the range's end).
function bucketPick(u: uPlot, e: MouseEvent, pts: { t: string }[], end: number): [string, string] | null {
  if (pts.length === 0) return null;
  const t = u.posToVal(e.offsetX, "x") * 1000;
  let i = 0;
  while (i + 1 < pts.length && Date.parse(pts[i + 1].t) <= t) i++;
  const from = Date.parse(pts[i].t);
  const to = i + 1 < pts.length ? Date.parse(pts[i + 1].t) : end * 1000;
  return [new Date(from).toISOString(), new Date(Math.max(to, from + 1000)).toISOString()];
}

// ForwardChart: the forward target's p95 per bucket (ms), with how many
// forwards it covers; a click opens the bucket's requests.
function ForwardChart({ stats, theme, win, onPick }: { stats: Stats; theme: Theme; win: [number, number]; onPick: (since: string, until: string) => void }) {
  const { s, hooks, x } = useBucketChart(stats, win, onPick);
  const data: uPlot.AlignedData = [s.map((p) => Date.parse(p.t) / 1000), s.map((p) => (p.forwarded ? (p.p95_forward_latency_us || 0) / 1000 : null))];
  const c = palette(theme);
  const ref = useUPlot(
    (width) => ({
      width,
      height: 180,
      cursor: { drag: { x: false, y: false } },
      legend: { show: true },
      hooks,
      scales: { x, y: { range: (_u, _min, max) => [0, Math.max(1, (max || 1) * 1.1)] } },
      axes: [
        { stroke: c.axis, grid: { stroke: c.grid }, ticks: { stroke: c.grid } },
        { stroke: c.axis, grid: { stroke: c.grid }, ticks: { stroke: c.grid }, label: "target p95 ms", size: 50 },
      ],
      series: [{}, { label: "target p95 (ms)", stroke: c.p95, width: 2, spanGaps: true, points: { show: true, size: 5, fill: c.p95 } }],
    }),
    data,
    [theme],
  );
  return <div class="chart clickable" ref={ref} data-testid="forward-chart" />;
}

function BarChart({ name, data, theme, color, onPick }: { name: string; data: Record<string, number>; theme: Theme; color: (k: string) => string; onPick: (k: string) => void }) {
  const entries = Object.entries(data).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const labels = entries.map((e) => e[0]);
  const lRef = useRef(labels);
  lRef.current = labels;
  const pick = useRef(onPick);
  pick.current = onPick;
  const xs = entries.map((_, i) => i);
  const c = palette(theme);
  const key = labels.join(",");
  const ref = useUPlot(
    (width) => ({
      width,
      height: 180,
      legend: { show: false },
      cursor: { show: false },
      // A click on a bar opens the matching requests.
      hooks: {
        ready: [
          (u: uPlot) =>
            u.over.addEventListener("click", (e: MouseEvent) => {
              const k = lRef.current[Math.round(u.posToVal(e.offsetX, "x"))];
              if (k !== undefined) pick.current(k);
            }),
        ],
      },
      scales: { x: { time: false, range: () => [-0.5, Math.max(labels.length - 0.5, 0.5)] }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.15)] } },
      axes: [
        { stroke: c.axis, grid: { show: false }, ticks: { show: false }, splits: () => xs, values: (_u, splits) => splits.map((i) => labels[i] ?? "") },
        { stroke: c.axis, grid: { stroke: c.grid }, ticks: { stroke: c.grid }, size: 50 },
      ],
      series: [
        {},
        {
          label: "count",
          stroke: c.count,
          fill: c.countFill,
          paths: uPlot.paths.bars!({ size: [0.6, 60], disp: { fill: { unit: 3, values: () => labels.map(color) }, stroke: { unit: 3, values: () => labels.map(color) } } }),
          points: { show: false },
        },
      ],
    }),
    [xs, entries.map((e) => e[1])],
    [theme, key],
  );
  return (
    <>
      {entries.length === 0 && <p class="muted">-</p>}
      <div class={`chart clickable ${entries.length === 0 ? "hidden" : ""}`} ref={ref} data-testid={`${name}-chart`} />
      {entries.length > 0 && (
        <div class="chart-links small">
          {entries.map(([k, v]) => (
            <button key={k} type="button" class="btn btn-small btn-ghost" data-testid={`${name}-link-${k}`} onClick={() => onPick(k)}>
              {k} · {v.toLocaleString()} →
            </button>
          ))}
        </div>
      )}
    </>
  );
}
