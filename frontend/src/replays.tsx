import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, filterParams } from "./api";
import { tokenFor } from "./storage";
import type { Bin, Filters } from "./types";

// A bulk replay job as GET /api/v1/replays/{id} reports it.
export interface ReplayJob {
  id: string;
  state: string;
  total: number;
  sent: number;
  succeeded: number;
  failed: number;
  rate: number;
  url?: string;
  error?: string;
  cancel_requested?: boolean;
}

const ENDED = new Set(["done", "canceled", "failed", "interrupted"]);

async function call<T>(method: string, path: string, bin: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const tok = tokenFor(bin);
  if (tok) headers.Authorization = `Bearer ${tok}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch {
    throw new ApiError(0, "server unreachable");
  }
  const data = await res.json().catch(() => undefined);
  if (!res.ok) throw new ApiError(res.status, data && typeof data.error === "string" ? data.error : `${res.status} ${res.statusText}`);
  return data as T;
}

const startJob = (bin: string, f: Filters, body: { url?: string; rate: number; dry_run?: boolean }) =>
  call<ReplayJob>("POST", `/api/v1/bins/${encodeURIComponent(bin)}/replays?${filterParams(f)}`, bin, body);
const getJob = (bin: string, id: string) => call<ReplayJob>("GET", `/api/v1/replays/${encodeURIComponent(id)}`, bin);
const cancelJob = (bin: string, id: string) => call<ReplayJob>("POST", `/api/v1/replays/${encodeURIComponent(id)}/cancel`, bin);

// BulkReplay: "Replay these" sends every request matching the list's
// filters again (a server-side job), with a progress bar and cancel.
export function BulkReplay({ bin, filters }: { bin: Bin; filters: Filters }) {
  const [open, setOpen] = useState(false);
  const [url, setUrl] = useState("");
  const [rate, setRate] = useState("10");
  const [count, setCount] = useState<number | null>(null);
  const [job, setJob] = useState<ReplayJob | null>(null);
  const [error, setError] = useState("");
  const [busy, setBusy] = useState(false);
  const timer = useRef<number | undefined>(undefined);
  const target = bin.settings?.forward?.url || "";

  useEffect(() => () => window.clearTimeout(timer.current), []);
  // The count of a dry run belongs to the filters it was made with.
  useEffect(() => setCount(null), [filterParams(filters).toString()]);

  const poll = (id: string) => {
    window.clearTimeout(timer.current);
    timer.current = window.setTimeout(async () => {
      try {
        const j = await getJob(bin.id, id);
        setJob(j);
        if (!ENDED.has(j.state)) poll(id);
      } catch (e) {
        setError((e as Error).message);
        poll(id);
      }
    }, 400);
  };

  const run = async (dry: boolean) => {
    setError("");
    setBusy(true);
    try {
      const j = await startJob(bin.id, filters, { url: url.trim() || undefined, rate: Number(rate) || 10, dry_run: dry || undefined });
      if (dry) setCount(j.total);
      else {
        setJob(j);
        poll(j.id);
      }
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const cancel = async () => {
    if (!job) return;
    try {
      setJob(await cancelJob(bin.id, job.id));
    } catch (e) {
      setError((e as Error).message);
    }
  };

  const running = job && !ENDED.has(job.state);
  return (
    <span class="bulkreplay">
      <button type="button" class="btn btn-small" onClick={() => setOpen(!open)} aria-expanded={open} data-testid="replay-open" title="Send the requests matching the filters again">
        Replay these…
      </button>
      {open && (
        <div class="bulkreplay-panel" role="group" aria-label="Replay the matching requests" data-testid="replay-panel">
          <label>
            Target URL
            <input
              value={url}
              onInput={(e) => setUrl(e.currentTarget.value)}
              placeholder={target ? `${target} (forward target)` : "https://example.com/webhooks"}
              aria-label="Replay target URL"
              data-testid="replay-url"
            />
          </label>
          <label>
            Rate (per second)
            <input type="number" min={0.1} max={500} step="any" value={rate} onInput={(e) => setRate(e.currentTarget.value)} aria-label="Replay rate" data-testid="replay-rate" />
          </label>
          <div class="bulkreplay-actions">
            <button type="button" class="btn btn-small" disabled={busy || !!running} onClick={() => run(true)} data-testid="replay-dry">
              Count
            </button>
            <button type="button" class="btn btn-small btn-accent" disabled={busy || !!running} onClick={() => run(false)} data-testid="replay-start">
              Start replay
            </button>
            {count !== null && (
              <span class="muted small" data-testid="replay-count">
                {count.toLocaleString()} request{count === 1 ? "" : "s"} match
              </span>
            )}
          </div>
          {job && (
            <div class="bulkreplay-progress" data-testid="replay-job">
              <progress max={Math.max(job.total, 1)} value={job.sent} data-testid="replay-progress" />
              <span class="small">
                <b data-testid="replay-state">{job.cancel_requested && running ? "cancelling" : job.state}</b> · {job.sent.toLocaleString()}/{job.total.toLocaleString()} sent ·{" "}
                <span class="ok">{job.succeeded.toLocaleString()} ok</span> · <span class={job.failed > 0 ? "err" : ""}>{job.failed.toLocaleString()} failed</span>
                {job.error ? ` · ${job.error}` : ""}
              </span>
              {running && (
                <button type="button" class="btn btn-small btn-ghost" onClick={cancel} data-testid="replay-cancel">
                  Cancel
                </button>
              )}
            </div>
          )}
          {error && (
            <div class="err small" role="alert" data-testid="replay-error">
              {error}
            </div>
          )}
        </div>
      )}
    </span>
  );
}
