// The retry chain of a delivery (issue 17): every request of the bin with
// the same provider delivery id, oldest first, as a timeline with the time
// between attempts; each step links to the attempt and to a comparison with
// the one before.
import { useEffect, useState } from "preact/hooks";
import { api } from "./api";
import type { Attempts, Bin, RequestSummary } from "./types";
import { clockTime, formatMs, statusClass } from "./format";
import { binPath, navigate } from "./router";

const open = (bin: string, id: string, qs = "tab=attempts") => navigate(binPath(bin, `/requests/${id}`) + "?" + qs);

export function AttemptsTimeline({ bin, rec }: { bin: Bin; rec: RequestSummary }) {
  const [chain, setChain] = useState<Attempts | null>(null);
  const [err, setErr] = useState("");
  useEffect(() => {
    let stop = false;
    api
      .attempts(bin.id, rec.id)
      .then((c) => !stop && setChain(c))
      .catch((e) => !stop && setErr(e.message));
    return () => {
      stop = true;
    };
  }, [rec.id]);
  if (err) return <p class="err">{err}</p>;
  if (!chain) return <p class="muted">Loading…</p>;
  const list = chain.attempts;
  return (
    <div class="attempts" data-testid="attempts">
      <p class="muted">
        Delivery <span class="mono">{chain.delivery_id || "—"}</span>: {list.length} attempt{list.length === 1 ? "" : "s"}
        {chain.truncated ? " (more exist than are shown)" : ""}
      </p>
      <ol class="timeline" data-testid="timeline">
        {list.map((a, i) => (
          <li key={a.id} class={`tl-step ${a.id === rec.id ? "current" : ""}`} data-testid="timeline-step" data-id={a.id}>
            {i > 0 && (
              <div class="tl-gap">
                <span class="tl-interval" data-testid="timeline-interval">
                  +{formatMs(a.interval_ms)}
                </span>
                <button type="button" class="btn btn-ghost btn-small" onClick={() => open(bin.id, a.id, `tab=compare&against=${encodeURIComponent(list[i - 1].id)}`)} data-testid="timeline-compare">
                  compare with #{list[i - 1].attempt || i}
                </button>
              </div>
            )}
            <button type="button" class="tl-node" onClick={() => open(bin.id, a.id)} aria-current={a.id === rec.id ? "step" : undefined}>
              <span class="tl-dot" aria-hidden="true" />
              <span class="tl-title">Attempt {a.attempt || i + 1}</span>
              <span class={`status ${statusClass(a.response_status)}`}>{a.response_status}</span>
              <span class="muted small">{clockTime(a.received_at).slice(0, 12)}</span>
              {a.id === rec.id && <span class="pill">this request</span>}
            </button>
          </li>
        ))}
      </ol>
    </div>
  );
}
