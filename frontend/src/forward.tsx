import { useEffect, useState } from "preact/hooks";
import { api } from "./api";
import type { Forward, ForwardState } from "./types";
import { clockTime, formatLatency, statusClass } from "./format";
import { toast } from "./ui";

// The forward of a request: its state (delivered, failed, retrying,
// skipped), every attempt, and redeliver for failed ones (issue 18).

// stateOf reads the state of records from before states existed the way
// the server does (schema.Forward.StateOf).
export function stateOf(f: Forward): ForwardState {
  if (f.state) return f.state;
  return !f.error && f.status >= 200 && f.status <= 299 ? "delivered" : "failed";
}

function attemptsOf(f: Forward): number {
  return f.attempts?.length ?? 0;
}

// Newer forwards the detail view learned (its polling, a redelivery), so
// the list row of the same request shows them too: the live feed carries
// captures, not their later attempts.
const newer = new Map<string, Forward>();
const listeners = new Set<() => void>();

function publish(id: string, f: Forward) {
  newer.set(id, f);
  if (newer.size > 1000) newer.delete(newer.keys().next().value as string);
  listeners.forEach((l) => l());
}

function useNewer(id: string, f: Forward): Forward {
  const [, bump] = useState(0);
  useEffect(() => {
    const l = () => bump((n) => n + 1);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  const n = newer.get(id);
  return n && (n.attempts?.length ?? 0) > (f.attempts?.length ?? 0) ? n : f;
}

// ForwardBadge is the forward on a list row: "→ 200 · 12 ms" when
// delivered, the last status and the state otherwise.
export function ForwardBadge({ id, f: given }: { id: string; f: Forward }) {
  const f = useNewer(id, given);
  const st = stateOf(f);
  const n = attemptsOf(f);
  let text = `→ ${f.status || "failed"}`;
  if (st === "delivered" && f.latency_us > 0) text += ` · ${formatLatency(f.latency_us)}`;
  if (st === "retrying") text += ` · retrying (${n} ${n === 1 ? "attempt" : "attempts"})`;
  if (st === "failed" && n > 1) text += ` · failed after ${n}`;
  if (st === "skipped") text = "→ skipped";
  const title =
    st === "skipped" ? f.skipped || "not forwarded" : st === "retrying" ? `retrying; next attempt ${f.next_at ? clockTime(f.next_at).slice(0, 8) : "soon"}` : f.error ? `forward failed: ${f.error}` : `forwarded to ${f.url}`;
  const cls = st === "delivered" || st === "skipped" ? (st === "skipped" ? "skip" : "") : st === "retrying" ? "retry" : "bad";
  return (
    <span class={`fwd ${cls}`} data-testid="fwd" data-state={st} title={title}>
      {text}
    </span>
  );
}

// ForwardPanel is the forward block of the detail view. While the forward
// is retrying it asks the server again after the next attempt is due, so
// the attempts fill in as they happen.
export function ForwardPanel({ bin, id, fwd: initial, readOnly }: { bin: string; id: string; fwd: Forward; readOnly?: boolean }) {
  const [fwd, setFwd] = useState<Forward>(initial);
  const [busy, setBusy] = useState(false);
  useEffect(() => setFwd(initial), [id, initial]);
  const st = stateOf(fwd);
  useEffect(() => {
    if (st !== "retrying") return;
    let stop = false;
    let timer: ReturnType<typeof setTimeout>;
    const poll = (wait: number) => {
      timer = setTimeout(async () => {
        try {
          const r = await api.getRequest(bin, id);
          if (stop) return;
          if (r.forward) {
            setFwd(r.forward);
            publish(id, r.forward);
          }
          if (r.forward && stateOf(r.forward) === "retrying") poll(delay(r.forward));
        } catch {
          if (!stop) poll(2000);
        }
      }, wait);
    };
    poll(delay(fwd));
    return () => {
      stop = true;
      clearTimeout(timer);
    };
  }, [st, fwd.next_at, id]);

  const redeliver = async () => {
    setBusy(true);
    try {
      const r = await api.redeliver(bin, id);
      setFwd(r.forward);
      publish(id, r.forward);
      const s = stateOf(r.forward);
      toast(s === "delivered" ? `Redelivered: ${r.forward.status}` : s === "retrying" ? "Redelivery failed; retrying" : `Redelivery failed: ${r.forward.error || r.forward.status}`, s === "delivered" ? "ok" : "err");
    } catch (e: any) {
      toast(`Redeliver: ${e.message}`, "err");
    } finally {
      setBusy(false);
    }
  };

  const attempts = fwd.attempts ?? [];
  return (
    <div class="block fwd-block" data-testid="fwd-block" data-state={st}>
      <span class="block-label">Forwarded ({fwd.mode || "async"})</span>
      {st === "skipped" ? (
        <span class="muted" data-testid="fwd-skipped">
          not forwarded — {fwd.skipped}
        </span>
      ) : (
        <>
          <span class={`fwd-state s-${st}`} data-testid="fwd-state">
            {st}
          </span>{" "}
          <span class={`status ${statusClass(fwd.status)}`}>{fwd.status || "failed"}</span> in {formatLatency(fwd.latency_us)} <span class="mono muted">{fwd.url}</span>
          {fwd.error ? <span class="err"> {fwd.error}</span> : null}
          {st === "retrying" && fwd.next_at && (
            <span class="muted" data-testid="fwd-next">
              {" "}
              · next attempt at {clockTime(fwd.next_at).slice(0, 8)}
            </span>
          )}
          {!readOnly && st === "failed" && (
            <button type="button" class="btn btn-small btn-accent redeliver" onClick={redeliver} disabled={busy} data-testid="redeliver">
              {busy ? "Redelivering…" : "Redeliver"}
            </button>
          )}
        </>
      )}
      {attempts.length > 0 && (
        <ol class="attempts" data-testid="fwd-attempts">
          {attempts.map((a, i) => (
            <li key={i} data-testid="fwd-attempt">
              <span class="muted">#{i + 1}</span> <span class="mono">{clockTime(a.at).slice(0, 12)}</span>{" "}
              <span class={`status ${statusClass(a.status)}`}>{a.status || "—"}</span> <span class="muted">{formatLatency(a.latency_us)}</span>
              {a.error ? <span class="err"> {a.error}</span> : null}
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}

// delay is how long to wait before asking again: until a little after the
// next attempt is due, between 300 ms and 10 s.
function delay(f: Forward): number {
  const due = f.next_at ? Date.parse(f.next_at) - Date.now() : 1000;
  return Math.min(Math.max(due + 250, 300), 10000);
}
