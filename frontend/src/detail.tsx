import { useEffect, useState } from "preact/hooks";
import { api } from "./api";
import type { Bin, RequestFull, RequestSummary } from "./types";
import { base64ToBytes, clockTime, decodeUTF8, formatLatency, formatMs, formatSize, joinURL, parseQuery, statusClass, toCurl } from "./format";
import { displayPath, uuid7Time } from "./format";
import { binURL } from "./bin";
import { binPath, navigate } from "./router";
import { BodyViewer, type LoadedBody } from "./body";
import { copyText, SigBadge, toast } from "./ui";

// Bodies up to this size load with the request; larger ones on demand.
const AUTO_BODY = 1 << 20;

export function RequestDetail({ bin, id, summary, onClose }: { bin: Bin; id: string; summary?: RequestSummary; onClose: () => void }) {
  const [rec, setRec] = useState<RequestSummary | null>(summary ?? null);
  const [err, setErr] = useState("");
  const [body, setBody] = useState<LoadedBody | null>(null);
  const [bodyState, setBodyState] = useState<"idle" | "loading" | "deferred" | "error">("idle");
  const [tab, setTab] = useState<"body" | "headers" | "query">("body");
  const [showReplay, setShowReplay] = useState(false);

  const loadBody = async () => {
    setBodyState("loading");
    try {
      const buf = await api.rawBody(bin.id, id);
      const bytes = new Uint8Array(buf);
      setBody({ bytes, text: decodeUTF8(bytes) });
      setBodyState("idle");
    } catch (e: any) {
      setErr(`body: ${e.message}`);
      setBodyState("error");
    }
  };

  useEffect(() => {
    let stop = false;
    if (summary) {
      setRec(summary);
      if (summary.body_size === 0) setBody({ bytes: new Uint8Array(0), text: "" });
      else if (summary.body_size <= AUTO_BODY) loadBody();
      else setBodyState("deferred");
    } else {
      // Deep link. A UUIDv7 carries its capture time, so the summary (no
      // body) can come from the history API; the body then loads by size
      // like from the list. Otherwise the full record carries the body.
      setBodyState("loading");
      const full = () =>
        api
          .getRequest(bin.id, id)
          .then((full: RequestFull) => {
            if (stop) return;
            setRec(full);
            if (full.body) {
              if (full.body.encoding === "base64") {
                const bytes = base64ToBytes(full.body.data);
                setBody({ bytes, text: decodeUTF8(bytes) });
              } else setBody({ bytes: null, text: full.body.data });
            } else setBody({ bytes: new Uint8Array(0), text: "" });
            setBodyState("idle");
          })
          .catch((e) => {
            if (!stop) {
              setErr(e.status === 404 ? "This request does not exist (any more)." : e.message);
              setBodyState("error");
            }
          });
      const ms = uuid7Time(id);
      if (ms === null) full();
      else
        api
          .listRequests(bin.id, { since: new Date(ms - 1).toISOString(), until: new Date(ms + 2).toISOString() }, null, 1000)
          .then((page) => {
            if (stop) return;
            const s = page.requests.find((r) => r.id === id);
            if (!s) return full();
            setRec(s);
            if (s.body_size === 0) {
              setBody({ bytes: new Uint8Array(0), text: "" });
              setBodyState("idle");
            } else if (s.body_size <= AUTO_BODY) loadBody();
            else setBodyState("deferred");
          })
          .catch(() => {
            if (!stop) full();
          });
    }
    return () => {
      stop = true;
    };
  }, [id]);

  if (!rec) {
    return (
      <div class="detail">
        <DetailBar onClose={onClose} />
        <div class="detail-body">{err ? <p class="err">{err}</p> : <p class="muted">Loading…</p>}</div>
      </div>
    );
  }

  const url = joinURL(binURL(bin), rec.path, rec.query);
  const query = parseQuery(rec.query);
  const sig = rec.signature;
  const curl = () =>
    toCurl({
      method: rec.method,
      url,
      headers: rec.headers || [],
      body: body?.text ?? (rec.body_size > 0 && !body ? null : ""),
      binary: !!body && body.text === null && rec.body_size > 0,
    });

  return (
    <div class="detail" data-testid="detail">
      <DetailBar onClose={onClose}>
        <span class={`method m-${/^[A-Z]+$/.test(rec.method) ? rec.method.toLowerCase() : "other"}`}>{rec.method}</span>
        <span class="path mono detail-path">
          {displayPath(rec.path)}
          {rec.query ? <span class="query">?{rec.query}</span> : null}
        </span>
      </DetailBar>
      <div class="detail-body">
        <div class="actions">
          <button type="button" class="btn btn-small" onClick={async () => toast((await copyText(curl())) ? "curl command copied" : "Copy failed", "ok")} data-testid="copy-curl">
            Copy as curl
          </button>
          <button type="button" class={`btn btn-small ${showReplay ? "btn-accent" : ""}`} onClick={() => setShowReplay(!showReplay)} aria-expanded={showReplay} data-testid="replay-toggle">
            Replay…
          </button>
          <span class="mono muted small id">{rec.id}</span>
        </div>
        {showReplay && <ReplayForm bin={bin} id={rec.id} />}
        <dl class="overview">
          <div>
            <dt>Received</dt>
            <dd title={rec.received_at}>
              {new Date(rec.received_at).toLocaleDateString()} {clockTime(rec.received_at)}
            </dd>
          </div>
          <div>
            <dt>From</dt>
            <dd class="mono">{rec.remote_ip}</dd>
          </div>
          <div>
            <dt>Size</dt>
            <dd>
              {formatSize(rec.body_size)}
              {rec.body_truncated ? " (truncated)" : ""}
            </dd>
          </div>
          <div>
            <dt>Answered</dt>
            <dd>
              <span class={`status ${statusClass(rec.response_status)}`}>{rec.response_status}</span> in {formatLatency(rec.latency_us)}
            </dd>
          </div>
          <div>
            <dt>Signature</dt>
            <dd data-testid="sig-verdict">
              {sig && sig.status !== "unchecked" ? (
                <>
                  <SigBadge status={sig.status} /> {sig.scheme} {sig.status}
                  {sig.reason ? <span class="muted"> — {sig.reason}</span> : null}
                </>
              ) : (
                <span class="muted">not checked{sig?.reason ? ` — ${sig.reason}` : ""}</span>
              )}
            </dd>
          </div>
          <div>
            <dt>Delivery lag</dt>
            <dd>{rec.delivery_lag_ms == null ? <span class="muted">-</span> : formatMs(rec.delivery_lag_ms)}</dd>
          </div>
          {rec.content_type && (
            <div>
              <dt>Content-Type</dt>
              <dd class="mono">{rec.content_type}</dd>
            </div>
          )}
          {rec.forward && (
            <div>
              <dt>Forwarded ({rec.forward.mode || "async"})</dt>
              <dd>
                <span class={`status ${statusClass(rec.forward.status)}`}>{rec.forward.status || "failed"}</span> {formatLatency(rec.forward.latency_us)}{" "}
                <span class="mono muted">{rec.forward.url}</span>
                {rec.forward.error ? <span class="err"> {rec.forward.error}</span> : null}
              </dd>
            </div>
          )}
        </dl>

        <nav class="subtabs" role="tablist">
          <button type="button" role="tab" aria-selected={tab === "body"} class={tab === "body" ? "active" : ""} onClick={() => setTab("body")}>
            Body
          </button>
          <button type="button" role="tab" aria-selected={tab === "headers"} class={tab === "headers" ? "active" : ""} onClick={() => setTab("headers")} data-testid="tab-headers">
            Headers <span class="count">{rec.headers?.length ?? 0}</span>
          </button>
          <button type="button" role="tab" aria-selected={tab === "query"} class={tab === "query" ? "active" : ""} onClick={() => setTab("query")} data-testid="tab-query">
            Query <span class="count">{query.length}</span>
          </button>
        </nav>

        {tab === "headers" && <KVTable rows={rec.headers || []} testid="headers-table" />}
        {tab === "query" && (query.length ? <KVTable rows={query} testid="query-table" /> : <p class="muted">No query parameters.</p>)}
        {tab === "body" && (
          <div class="bodybox">
            {err && <p class="err">{err}</p>}
            {bodyState === "loading" && <p class="muted">Loading body…</p>}
            {bodyState === "deferred" && (
              <div class="deferred">
                <p>
                  This body is {formatSize(rec.body_size)}. It is not loaded automatically to keep the page quick.
                </p>
                <button type="button" class="btn" onClick={loadBody}>
                  Load body
                </button>{" "}
                <DownloadButton bin={bin} id={rec.id} />
              </div>
            )}
            {body && <BodyViewer bin={bin} rec={rec} body={body} />}
          </div>
        )}
      </div>
    </div>
  );
}

function DetailBar({ onClose, children }: { onClose: () => void; children?: any }) {
  return (
    <div class="detail-bar">
      <button type="button" class="btn btn-ghost btn-small back" onClick={onClose} aria-label="Close request">
        ← <span class="back-label">Back</span>
      </button>
      {children}
    </div>
  );
}

export function KVTable({ rows, testid }: { rows: [string, string][]; testid?: string }) {
  return (
    <table class="kv" data-testid={testid}>
      <tbody>
        {rows.map(([k, v], i) => (
          <tr key={i}>
            <th class="mono">{k}</th>
            <td class="mono">{v}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function DownloadButton({ bin, id }: { bin: Bin; id: string }) {
  return (
    <button
      type="button"
      class="btn btn-small"
      onClick={async () => {
        try {
          const buf = await api.rawBody(bin.id, id);
          const a = document.createElement("a");
          a.href = URL.createObjectURL(new Blob([buf], { type: "application/octet-stream" }));
          a.download = `${id}.bin`;
          document.body.appendChild(a);
          a.click();
          a.remove();
          setTimeout(() => URL.revokeObjectURL(a.href), 10000);
        } catch (e: any) {
          toast(`Download failed: ${e.message}`, "err");
        }
      }}
    >
      Download raw
    </button>
  );
}

// ReplayForm re-sends the request to the bin's forward target or to a URL
// and shows what came back; the replay is also recorded in the bin.
function ReplayForm({ bin, id }: { bin: Bin; id: string }) {
  const target = bin.settings?.forward?.url || "";
  const [url, setUrl] = useState("");
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string; id?: string } | null>(null);
  return (
    <form
      class="replay"
      data-testid="replay-form"
      onSubmit={async (e) => {
        e.preventDefault();
        setBusy(true);
        setResult(null);
        try {
          const r = await api.replay(bin.id, id, url.trim() || undefined);
          const f = r?.forward;
          const st = f?.status || r?.status || 0;
          setResult({
            ok: st >= 200 && st < 300,
            text: f ? `${st || "no answer"} in ${formatLatency(f.latency_us)}${f.error ? ` — ${f.error}` : ""}` : "sent",
            id: typeof r?.id === "string" ? r.id : undefined,
          });
        } catch (er: any) {
          setResult({ ok: false, text: er.message });
        } finally {
          setBusy(false);
        }
      }}
    >
      <input type="url" value={url} onInput={(e) => setUrl(e.currentTarget.value)} placeholder={target ? `forward target: ${target}` : "https://example.com/webhooks"} aria-label="Replay URL" />
      <button type="submit" class="btn btn-small btn-primary" disabled={busy}>
        {busy ? "Sending…" : "Send"}
      </button>
      {result && (
        <span class={`replay-result ${result.ok ? "ok" : "err"}`} data-testid="replay-result">
          {result.text}
          {result.id && (
            <>
              {" "}
              <a href={binPath(bin.id, `/requests/${result.id}`)} onClick={(e) => (e.preventDefault(), navigate(binPath(bin.id, `/requests/${result.id}`)))}>
                open
              </a>
            </>
          )}
        </span>
      )}
    </form>
  );
}
