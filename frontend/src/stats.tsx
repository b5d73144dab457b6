import { useEffect, useRef, useState } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { api } from "./api";
import type { Theme } from "./storage";
import type { Bin, Stats } from "./types";
import { formatLatency } from "./format";
import { Empty } from "./ui";

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
  const [range, setRange] = useState("1h");
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
        .stats(bin.id, since.toISOString(), until.toISOString(), r.step)
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
  }, [bin.id, range]);

  const lat = stats?.latency_us;
  return (
    <div class="panel stats" data-testid="stats">
      <div class="stats-head">
        <h2>Traffic</h2>
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
          <section class="card chart-card">
            <h3>Requests over time</h3>
            <SeriesChart stats={stats} theme={theme} win={win} />
          </section>
          <div class="grid2">
            <section class="card chart-card">
              <h3>Status mix</h3>
              <BarChart data={stats.by_status || {}} theme={theme} color={(k) => (k.startsWith("5") ? "#dc2626" : k.startsWith("4") ? "#ea580c" : k.startsWith("3") ? "#0891b2" : "#16a34a")} />
            </section>
            <section class="card chart-card">
              <h3>Methods</h3>
              <BarChart data={stats.by_method || {}} theme={theme} color={() => palette(theme).count} />
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

function SeriesChart({ stats, theme, win }: { stats: Stats; theme: Theme; win: [number, number] }) {
  const winRef = useRef(win);
  winRef.current = win;
  const s = stats.series || [];
  const data: uPlot.AlignedData = [s.map((p) => Date.parse(p.t) / 1000), s.map((p) => p.count), s.map((p) => (p.p95_latency_us ? p.p95_latency_us / 1000 : null))];
  const c = palette(theme);
  const ref = useUPlot(
    (width) => ({
      width,
      height: 220,
      cursor: { drag: { x: false, y: false } },
      legend: { show: true },
      scales: { x: { time: true, range: (_u, min, max) => (winRef.current[0] ? [winRef.current[0], winRef.current[1]] : [min, max]) }, y: { range: (_u, _min, max) => [0, Math.max(1, max * 1.1)] }, ms: { range: (_u, _min, max) => [0, Math.max(1, (max || 1) * 1.1)] } },
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
      <div class={`chart ${s.length === 0 ? "hidden" : ""}`} ref={ref} data-testid="series-chart" />
    </>
  );
}

function BarChart({ data, theme, color }: { data: Record<string, number>; theme: Theme; color: (k: string) => string }) {
  const entries = Object.entries(data).sort((a, b) => (a[0] < b[0] ? -1 : 1));
  const labels = entries.map((e) => e[0]);
  const xs = entries.map((_, i) => i);
  const c = palette(theme);
  const key = labels.join(",");
  const ref = useUPlot(
    (width) => ({
      width,
      height: 180,
      legend: { show: false },
      cursor: { show: false },
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
      <div class={`chart ${entries.length === 0 ? "hidden" : ""}`} ref={ref} />
    </>
  );
}
