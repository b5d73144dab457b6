import { useEffect, useState } from "preact/hooks";
import { api } from "./api";
import type { Bin, RequestFull, RequestSummary, Signature } from "./types";
import { base64ToBytes, clockTime, decodeUTF8, formatLatency, formatMs, formatSize, joinURL, parseQuery, providerOf, statusClass, toCurl } from "./format";
import { displayPath, uuid7Time } from "./format";
import { binURL } from "./bin";
import { binPath, navigate, withParams } from "./router";
import { BodyViewer, type LoadedBody } from "./body";
import { copyText, Hi, SigBadge, toast } from "./ui";
import { ForwardPanel } from "./forward";
import { ComparePanel } from "./diff";
import { AttemptsTimeline } from "./attempts";

// Bodies up to this size load with the request; larger ones on demand.
const AUTO_BODY = 1 << 20;

// The live feed announces a request once its capture is durable, which can
// be a moment before the store lists it: a fresh request's body is asked
// again for a few seconds while the store answers 404.
async function bodyWithRetry(bin: string, id: string, receivedAt: string | undefined): Promise<ArrayBuffer> {
  const fresh = () => receivedAt !== undefined && Date.now() - Date.parse(receivedAt) < 30000;
  for (let wait = 100; ; wait = Math.min(wait * 2, 1000)) {
    try {
      return await api.rawBody(bin, id);
    } catch (e: any) {
      if (!(e?.status === 404 && fresh())) throw e;
    }
    await new Promise((r) => setTimeout(r, wait));
  }
}

export function RequestDetail({ bin, id, summary, onClose, tab: tabParam, find, readOnly, liveReplays, replayTick }: { bin: Bin; id: string; summary?: RequestSummary; onClose: () => void; tab: string; find?: string; readOnly?: boolean; liveReplays?: RequestSummary[]; replayTick?: number }) {
  const [rec, setRec] = useState<RequestSummary | null>(summary ?? null);
  const [err, setErr] = useState("");
  const [body, setBody] = useState<LoadedBody | null>(null);
  const [bodyState, setBodyState] = useState<"idle" | "loading" | "deferred" | "error">("idle");
  const tab = ["headers", "query", "compare", "attempts"].includes(tabParam) ? tabParam : "body";
  const [showReplay, setShowReplay] = useState(false);
  const [rv, setRv] = useState<{ busy: boolean; sig?: Signature; err?: string } | null>(null);
  const fetchBody = () => bodyWithRetry(bin.id, id, (summary ?? rec)?.received_at);

  const loadBody = async () => {
    setBodyState("loading");
    try {
      const buf = await fetchBody();
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

  // against= (the compared request) belongs to the Compare tab only.
  const setTab = (t: string) =>
    navigate(withParams(location.pathname, { tab: t === "body" ? undefined : t, against: t === "compare" ? new URLSearchParams(location.search).get("against") || undefined : undefined }), true);
  const fwd = rec.forward;
  const lagShown = rec.delivery_lag_ms != null;
  const sigShown = !!sig && (sig.status !== "unchecked" || !!sig.reason);
  const pv = providerOf(rec);
  const canReverify = !readOnly && !!bin.settings?.signature?.scheme;

  return (
    <div class="detail" data-testid="detail">
      <div class="overview">
        <div class="detail-bar">
          <button type="button" class="btn btn-ghost btn-small back" onClick={onClose} aria-label="Close request">
            ← <span class="back-label">Back</span>
          </button>
          <div class="headline" data-testid="detail-head">
            <span class={`method m-${/^[A-Z]+$/.test(rec.method) ? rec.method.toLowerCase() : "other"}`}>{rec.method}</span>{" "}
            <span class="path mono detail-path" title={displayPath(rec.path) + (rec.query ? "?" + rec.query : "")}>
              {displayPath(rec.path)}
              {rec.query ? <span class="query">?{rec.query}</span> : null}
            </span>
            <span class="meta">
              <span class="sep">·</span>
              <span class={`status ${statusClass(rec.response_status)}`}>{rec.response_status}</span> in {formatLatency(rec.latency_us)}
              <span class="sep">·</span>
              {formatSize(rec.body_size)}
              {rec.body_truncated ? " (truncated)" : ""}
              <span class="sep">·</span>
              <span class="mono">{rec.remote_ip}</span>
              <span class="sep">·</span>
              <span title={new Date(rec.received_at).toString()}>{clockTime(rec.received_at).slice(0, 8)}</span>
              {(pv.provider || pv.event) && (
                <>
                  <span class="sep">·</span>
                  <span class="provider">
                    {pv.provider}
                    {pv.provider && pv.event ? " · " : ""}
                    {pv.event}
                  </span>
                </>
              )}
            </span>
          </div>
          <div class="bar-actions">
            <button type="button" class="btn btn-small" onClick={async () => toast((await copyText(curl())) ? "curl command copied" : "Copy failed", "ok")} data-testid="copy-curl">
              Copy as curl
            </button>
            {!readOnly && (
              <button type="button" class={`btn btn-small ${showReplay ? "btn-accent" : ""}`} onClick={() => setShowReplay(!showReplay)} aria-expanded={showReplay} data-testid="replay-toggle">
                Replay…
              </button>
            )}
          </div>
        </div>
        {showReplay && !readOnly && <ReplayForm bin={bin} id={rec.id} />}
        {rec.replay_of ? (
          <div class="blocks">
            <div class="block" data-testid="replay-of">
              <span class="block-label">Replay of</span>
              <a class="mono" href={binPath(bin.id, `/requests/${encodeURIComponent(rec.replay_of)}`)} onClick={(e) => (e.preventDefault(), navigate(withParams(binPath(bin.id, `/requests/${encodeURIComponent(rec.replay_of!)}`), {})))}>
                {rec.replay_of}
              </a>
            </div>
          </div>
        ) : (
          <ReplaysBlock bin={bin} id={rec.id} live={liveReplays} tick={replayTick} />
        )}
        {(sigShown || canReverify || lagShown || fwd || rec.refused_reason || rec.redacted) && (
          <div class="blocks">
            {rec.refused_reason && (
              <div class="block" data-testid="refused-block">
                <span class="block-label">Refused</span>
                <span class={`status ${statusClass(rec.response_status)}`}>{rec.response_status}</span> <span class="muted">— {rec.refused_reason}</span>
              </div>
            )}
            {rec.redacted && (
              <div class="block" data-testid="redacted-block">
                <span class="block-label">Redacted</span>
                {[
                  ...(rec.redacted.headers || []).map((h) => `header ${h}`),
                  ...(rec.redacted.body_paths || []).map((p) => `body ${p}`),
                  ...(rec.redacted.body_dropped ? ["body not stored"] : []),
                ].join(", ")}
              </div>
            )}
            {(sigShown || canReverify) && (
              <div class="block" data-testid="sig-verdict">
                <span class="block-label">Signature</span>
                {sig && sig.status !== "unchecked" ? (
                  <>
                    <SigBadge status={sig.status} /> {sig.scheme} {sig.status}
                    {sig.reason ? <span class="muted"> — {sig.reason}</span> : null}
                  </>
                ) : (
                  <span class="muted">not checked at capture{sig?.reason ? ` — ${sig.reason}` : ""}</span>
                )}
                {canReverify && (
                  <>
                    {" "}
                    <button
                      type="button"
                      class="btn btn-small btn-ghost"
                      data-testid="reverify"
                      disabled={rv?.busy}
                      title={`Check the signature again with the bin's current ${bin.settings?.signature?.scheme} secret`}
                      onClick={async () => {
                        setRv({ busy: true });
                        try {
                          const r = await api.reverify(bin.id, rec.id);
                          setRv({ busy: false, sig: r.signature });
                        } catch (e: any) {
                          setRv({ busy: false, err: e.message });
                        }
                      }}
                    >
                      {rv?.busy ? "Verifying…" : "Re-verify"}
                    </button>
                  </>
                )}
                {rv && !rv.busy && (
                  <div data-testid="reverify-result" class="reverify-result">
                    {rv.sig ? (
                      <>
                        → <SigBadge status={rv.sig.status} /> {rv.sig.scheme} {rv.sig.status} <span class="muted">with the current secret</span>
                        {rv.sig.reason ? <span class="muted"> — {rv.sig.reason}</span> : null}
                      </>
                    ) : (
                      <span class="err">{rv.err}</span>
                    )}
                  </div>
                )}
              </div>
            )}
            {lagShown && (
              <div class="block" data-testid="lag-block">
                <span class="block-label">Delivery lag</span>
                {formatMs(rec.delivery_lag_ms)} <span class="muted">between the sender's timestamp and arrival</span>
              </div>
            )}
            {fwd && <ForwardPanel bin={bin.id} id={rec.id} fwd={fwd} readOnly={readOnly} />}
          </div>
        )}
      </div>
      <div class="detail-body">
        <nav class="subtabs" role="tablist">
          <button type="button" role="tab" aria-selected={tab === "body"} class={tab === "body" ? "active" : ""} onClick={() => setTab("body")} data-testid="tab-body">
            Body
          </button>
          <button type="button" role="tab" aria-selected={tab === "headers"} class={tab === "headers" ? "active" : ""} onClick={() => setTab("headers")} data-testid="tab-headers">
            Headers <span class="count">{rec.headers?.length ?? 0}</span>
          </button>
          <button type="button" role="tab" aria-selected={tab === "query"} class={tab === "query" ? "active" : ""} onClick={() => setTab("query")} data-testid="tab-query">
            Query <span class="count">{query.length}</span>
          </button>
          {rec.delivery_id ? (
            <button type="button" role="tab" aria-selected={tab === "attempts"} class={tab === "attempts" ? "active" : ""} onClick={() => setTab("attempts")} data-testid="tab-attempts">
              Attempts {rec.attempt ? <span class="count">#{rec.attempt}</span> : null}
            </button>
          ) : null}
          <button type="button" role="tab" aria-selected={tab === "compare"} class={tab === "compare" ? "active" : ""} onClick={() => setTab("compare")} data-testid="tab-compare">
            Compare…
          </button>
          <span class="mono muted small id">{rec.id}</span>
        </nav>

        {tab === "headers" && <KVTable rows={rec.headers || []} testid="headers-table" hl={find} />}
        {tab === "compare" && <ComparePanel bin={bin} rec={rec} />}
        {tab === "attempts" && <AttemptsTimeline bin={bin} rec={rec} />}
        {tab === "query" && (query.length ? <KVTable rows={query} testid="query-table" hl={find} /> : <p class="muted">No query parameters.</p>)}
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
            {body && <BodyViewer bin={bin} rec={rec} body={body} find={find} />}
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

export function KVTable({ rows, testid, hl }: { rows: [string, string][]; testid?: string; hl?: string }) {
  return (
    <table class="kv" data-testid={testid}>
      <tbody>
        {rows.map(([k, v], i) => (
          <tr key={i}>
            <th class="mono">
              <Hi text={k} term={hl} />
            </th>
            <td class="mono">
              <Hi text={v} term={hl} />
            </td>
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

// ReplaysBlock lists the replays of a request as its attempts, newest
// first: those stored (the list keeps them out unless asked) and those the
// live feed brought since. Shown only when there is one.
function ReplaysBlock({ bin, id, live, tick }: { bin: Bin; id: string; live?: RequestSummary[]; tick?: number }) {
  const [stored, setStored] = useState<RequestSummary[]>([]);
  const [more, setMore] = useState(false);
  useEffect(() => {
    let stop = false;
    api
      .replaysOf(bin.id, id)
      .then((p) => {
        if (stop) return;
        setStored(p.requests.filter((r) => r.replay_of === id));
        setMore(!!p.next);
      })
      .catch(() => {
        /* the detail stays usable without its attempts */
      });
    return () => {
      stop = true;
    };
  }, [bin.id, id]);
  const seen = new Set<string>();
  const all = [...(live || []), ...stored]
    .filter((r) => (seen.has(r.id) ? false : (seen.add(r.id), true)))
    .sort((a, b) => (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
  void tick; // re-rendered when the live feed groups another replay here
  if (all.length === 0) return null;
  return (
    <div class="blocks">
      <div class="block replays-block" data-testid="replays-block">
        <span class="block-label">
          Replays ({all.length}
          {more ? "+" : ""})
        </span>
        <ul class="attempts">
          {all.map((r) => {
            const f = r.forward;
            const bad = !f || !!f.error || !f.status || f.status >= 400;
            return (
              <li key={r.id} class="attempt">
                <a href={binPath(bin.id, `/requests/${encodeURIComponent(r.id)}`)} onClick={(e) => (e.preventDefault(), navigate(withParams(binPath(bin.id, `/requests/${encodeURIComponent(r.id)}`), {})))}>
                  {clockTime(r.received_at).slice(0, 8)}
                </a>{" "}
                <span class={`fwd ${bad ? "bad" : ""}`} title={f?.error ? `failed: ${f.error}` : f?.url}>
                  → {f?.status || "failed"}
                  {f && f.latency_us > 0 ? ` · ${formatLatency(f.latency_us)}` : ""}
                </span>{" "}
                <span class="mono muted small">{f?.url}</span>
              </li>
            );
          })}
        </ul>
      </div>
    </div>
  );
}
