// Comparing two requests of a bin (issue 17): pick the other request, then
// see both side by side with what changed highlighted. The server computes
// the diff (GET .../requests/{id}/diff?against=); this only lays it out.
import { useEffect, useState } from "preact/hooks";
import { api } from "./api";
import type { Bin, DiffEntry, RequestDiff, RequestSummary } from "./types";
import { clockTime, displayPath, formatSize, statusClass } from "./format";
import { binPath, navigate, withParams } from "./router";

const short = (id: string) => id.slice(-8);

// show renders a diff value: strings as they are, anything else as JSON.
function show(v: unknown): string {
  if (v === undefined) return "";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

// ComparePanel is the detail view's "Compare" tab: a picker while no
// request is chosen (the URL's against=), else the side-by-side diff.
export function ComparePanel({ bin, rec }: { bin: Bin; rec: RequestSummary }) {
  const against = new URLSearchParams(location.search).get("against") || "";
  if (!against) return <ComparePicker bin={bin} rec={rec} />;
  return <DiffView bin={bin} rec={rec} against={against} />;
}

const pick = (id: string) => navigate(withParams(location.pathname, { tab: "compare", against: id }), true);

// ComparePicker lists the bin's recent requests (the same delivery's
// attempts first) and takes a pasted id too.
function ComparePicker({ bin, rec }: { bin: Bin; rec: RequestSummary }) {
  const [items, setItems] = useState<RequestSummary[] | null>(null);
  const [err, setErr] = useState("");
  const [typed, setTyped] = useState("");
  useEffect(() => {
    let stop = false;
    Promise.all([
      api.listRequests(bin.id, {}, null, 30),
      rec.delivery_id ? api.attempts(bin.id, rec.id).then((a) => a.attempts as RequestSummary[]) : Promise.resolve([] as RequestSummary[]),
    ])
      .then(([page, chain]) => {
        if (stop) return;
        const seen = new Set([rec.id]);
        const out: RequestSummary[] = [];
        for (const r of [...chain, ...page.requests]) {
          if (!seen.has(r.id)) {
            seen.add(r.id);
            out.push(r);
          }
        }
        setItems(out);
      })
      .catch((e) => !stop && setErr(e.message));
    return () => {
      stop = true;
    };
  }, [rec.id]);
  return (
    <div class="compare-picker" data-testid="compare-picker">
      <p class="muted">Compare this request with another one of the bin: pick it below or paste its id.</p>
      <form
        class="compare-id"
        onSubmit={(e) => {
          e.preventDefault();
          if (typed.trim()) pick(typed.trim());
        }}
      >
        <input type="text" class="mono" value={typed} onInput={(e) => setTyped(e.currentTarget.value)} placeholder="request id" aria-label="Request id to compare with" />
        <button type="submit" class="btn btn-small">
          Compare
        </button>
      </form>
      {err && <p class="err">{err}</p>}
      {!items && !err && <p class="muted">Loading…</p>}
      {items && items.length === 0 && <p class="muted">No other request in this bin yet.</p>}
      {items && items.length > 0 && (
        <ul class="compare-list">
          {items.map((r) => (
            <li key={r.id}>
              <button type="button" class="compare-item" onClick={() => pick(r.id)} data-testid="compare-item" data-id={r.id}>
                <span class={`method m-${/^[A-Z]+$/.test(r.method) ? r.method.toLowerCase() : "other"}`}>{r.method}</span>
                <span class="mono path">{displayPath(r.path)}</span>
                <span class={`status ${statusClass(r.response_status)}`}>{r.response_status}</span>
                {r.delivery_id && r.delivery_id === rec.delivery_id ? <span class="pill">attempt {r.attempt}</span> : null}
                <span class="muted small">{clockTime(r.received_at).slice(0, 8)}</span>
                <span class="muted small mono">…{short(r.id)}</span>
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

// DiffView shows the request given as against (left) and this one (right).
export function DiffView({ bin, rec, against }: { bin: Bin; rec: RequestSummary; against: string }) {
  const [d, setD] = useState<RequestDiff | null>(null);
  const [err, setErr] = useState("");
  useEffect(() => {
    let stop = false;
    setD(null);
    setErr("");
    api
      .diff(bin.id, rec.id, against)
      .then((x) => !stop && setD(x))
      .catch((e) => !stop && setErr(e.message));
    return () => {
      stop = true;
    };
  }, [rec.id, against]);
  const head = (
    <div class="diff-head">
      <span>
        <span class="diff-side-label">A</span>
        <a href={binPath(bin.id, `/requests/${against}`)} onClick={(e) => (e.preventDefault(), navigate(binPath(bin.id, `/requests/${against}`)))} class="mono">
          …{short(against)}
        </a>
      </span>
      <span class="muted">→</span>
      <span>
        <span class="diff-side-label">B</span>
        <span class="mono">…{short(rec.id)}</span> <span class="muted">(this request)</span>
      </span>
      <button type="button" class="btn btn-small btn-ghost" onClick={() => navigate(withParams(location.pathname, { against: undefined }), true)}>
        Compare with another…
      </button>
    </div>
  );
  if (err) {
    return (
      <div class="diff" data-testid="diff-view">
        {head}
        <p class="err">{err}</p>
      </div>
    );
  }
  if (!d) {
    return (
      <div class="diff" data-testid="diff-view">
        {head}
        <p class="muted">Comparing…</p>
      </div>
    );
  }
  const fields = Object.entries(d.fields);
  const nothing = fields.length === 0 && d.headers.length === 0 && d.query.length === 0 && d.body.kind === "same";
  return (
    <div class="diff" data-testid="diff-view">
      {head}
      {nothing && <p class="muted" data-testid="diff-same">No differences.</p>}
      {fields.length > 0 && (
        <DiffSection title="Fields" testid="diff-fields" rows={fields.map(([name, c]) => ({ name, op: "changed", from: c.from, to: c.to }))} />
      )}
      {d.headers.length > 0 && <DiffSection title="Headers" testid="diff-headers" rows={d.headers} truncated={d.truncated} />}
      {d.query.length > 0 && <DiffSection title="Query" testid="diff-query" rows={d.query} />}
      <BodyDiff d={d} />
    </div>
  );
}

function DiffSection({ title, rows, testid, truncated }: { title: string; rows: DiffEntry[]; testid: string; truncated?: boolean }) {
  return (
    <section class="diff-section">
      <h3>
        {title} <span class="count">{rows.length}</span>
      </h3>
      <table class="kv diff-table" data-testid={testid}>
        <thead>
          <tr>
            <th />
            <th>A</th>
            <th>B</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e, i) => (
            <tr key={i} class={`diff-${e.op}`} data-op={e.op}>
              <th class="mono">{e.name}</th>
              <td class="mono diff-a">{e.op === "added" ? <span class="muted">—</span> : show(e.from)}</td>
              <td class="mono diff-b">{e.op === "removed" ? <span class="muted">—</span> : show(e.to)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {truncated && <p class="muted small">More differences exist than are shown.</p>}
    </section>
  );
}

function BodyDiff({ d }: { d: RequestDiff }) {
  const b = d.body;
  const sizes = (
    <span class="muted small">
      {formatSize(b.from.size)} → {formatSize(b.to.size)}
      {b.from.truncated || b.to.truncated ? " (stored bodies truncated)" : ""}
    </span>
  );
  if (b.kind === "same") {
    return (
      <section class="diff-section">
        <h3>Body</h3>
        <p class="muted" data-testid="diff-body-same">
          Identical bodies {sizes}
        </p>
      </section>
    );
  }
  if (b.kind === "json") {
    return (
      <section class="diff-section">
        <h3>Body (JSON) {sizes}</h3>
        <DiffSection title="Changed paths" testid="diff-json" rows={b.json || []} truncated={b.truncated} />
      </section>
    );
  }
  if (b.kind === "text") return <TextDiff b={b} sizes={sizes} />;
  return (
    <section class="diff-section" data-testid="diff-binary">
      <h3>Body (binary) {sizes}</h3>
      <table class="kv diff-table">
        <tbody>
          <tr>
            <th>SHA-256</th>
            <td class="mono diff-a">{b.from.sha256.slice(0, 16)}…</td>
            <td class="mono diff-b">{b.to.sha256.slice(0, 16)}…</td>
          </tr>
          <tr>
            <th>First difference</th>
            <td colSpan={2} class="mono">
              byte {b.first_difference}
            </td>
          </tr>
        </tbody>
      </table>
    </section>
  );
}

// TextDiff lays the line hunks out in two columns: a deletion next to the
// insertion that follows it, unchanged lines on both sides.
function TextDiff({ b, sizes }: { b: RequestDiff["body"]; sizes: any }) {
  const rows: { a?: string; b?: string; op: string }[] = [];
  const hunks = b.lines || [];
  for (let i = 0; i < hunks.length; i++) {
    const h = hunks[i];
    if (h.op === "equal") {
      for (const l of h.lines) rows.push({ a: l, b: l, op: "equal" });
    } else if (h.op === "delete" && hunks[i + 1]?.op === "insert") {
      const ins = hunks[++i].lines;
      for (let k = 0; k < Math.max(h.lines.length, ins.length); k++) rows.push({ a: h.lines[k], b: ins[k], op: "changed" });
    } else if (h.op === "delete") {
      for (const l of h.lines) rows.push({ a: l, op: "removed" });
    } else {
      for (const l of h.lines) rows.push({ b: l, op: "added" });
    }
  }
  return (
    <section class="diff-section">
      <h3>Body (text) {sizes}</h3>
      <table class="diff-text mono" data-testid="diff-text">
        <tbody>
          {rows.map((r, i) => (
            <tr key={i} class={`diff-${r.op}`} data-op={r.op}>
              <td class={`diff-a ${r.a === undefined ? "empty" : ""}`}>{r.a ?? ""}</td>
              <td class={`diff-b ${r.b === undefined ? "empty" : ""}`}>{r.b ?? ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {b.truncated && <p class="muted small">The bodies are longer than the diff reads.</p>}
    </section>
  );
}
