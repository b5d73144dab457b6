import { useState } from "preact/hooks";
import { api } from "./api";
import { navigate, binPath } from "./router";
import { forgetBin, tokenFor } from "./storage";
import type { Bin, FieldMatch, Header, ResponseRule } from "./types";
import { CopyButton, toast } from "./ui";

export const SCHEMES = ["standard-webhooks", "svix", "stripe", "github", "slack", "shopify", "twilio", "paddle", "zoom", "linear", "gitlab", "discord", "sendgrid", "hmac"];

// withJSONType adds Content-Type: application/json when body is JSON and no
// Content-Type is set, so a JSON answer is not sent as text/plain.
export function withJSONType(headers: Header[], body: string | undefined): Header[] {
  const b = (body || "").trim();
  if (!(b.startsWith("{") || b.startsWith("["))) return headers;
  try {
    JSON.parse(b);
  } catch {
    return headers;
  }
  if (headers.some(([n]) => n.toLowerCase() === "content-type")) return headers;
  return [...headers, ["Content-Type", "application/json"]];
}

function headersToText(h?: Header[] | null): string {
  return (h || []).map(([n, v]) => `${n}: ${v}`).join("\n");
}

function textToHeaders(t: string): Header[] {
  const out: Header[] = [];
  for (const line of t.split("\n")) {
    const i = line.indexOf(":");
    if (i > 0) out.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
  }
  return out;
}

const num = (s: string) => (s.trim() === "" ? undefined : Number(s));

// lines splits a textarea into its non-empty trimmed lines (commas too).
export const lines = (t: string) =>
  t
    .split(/[\n,]/)
    .map((x) => x.trim())
    .filter(Boolean);

// cleanMatch drops a rule condition without a name/path; an empty value
// means "present".
function cleanMatch(m: FieldMatch | undefined, key: "name" | "path"): FieldMatch | undefined {
  const k = (m?.[key] || "").trim();
  if (!k) return undefined;
  return { [key]: k, value: m?.value ? m.value : undefined };
}

// MatchInputs edits one rule condition (a header, a query parameter or a
// JSON body field) and its optional value.
function MatchInputs({ label, m, keyName, onChange }: { label: string; m?: FieldMatch; keyName: "name" | "path"; onChange: (m: FieldMatch) => void }) {
  return (
    <span class="match">
      <input value={m?.[keyName] || ""} onInput={(e) => onChange({ ...m, [keyName]: e.currentTarget.value })} placeholder={label} aria-label={`Rule ${label}`} />
      <input value={m?.value || ""} onInput={(e) => onChange({ ...m, value: e.currentTarget.value })} placeholder="= value (any)" aria-label={`Rule ${label} value`} />
    </span>
  );
}

export function SettingsPanel({ bin, onSaved }: { bin: Bin; onSaved: (b: Bin) => void }) {
  const s = bin.settings || {};
  const [name, setName] = useState(bin.name || "");
  const [expiry, setExpiry] = useState("");
  const [scheme, setScheme] = useState(s.signature?.scheme || "");
  const [secret, setSecret] = useState("");
  const [tolerance, setTolerance] = useState(s.signature?.tolerance || "");
  const [hHeader, setHHeader] = useState(s.signature?.header || "");
  const [hAlg, setHAlg] = useState(s.signature?.algorithm || "sha256");
  const [hEnc, setHEnc] = useState(s.signature?.encoding || "hex");
  const [hPrefix, setHPrefix] = useState(s.signature?.prefix || "");
  const [rStatus, setRStatus] = useState(s.response?.status ? String(s.response.status) : "");
  const [rHeaders, setRHeaders] = useState(headersToText(s.response?.headers));
  const [rBody, setRBody] = useState(s.response?.body || "");
  const [rDelay, setRDelay] = useState(s.response?.delay_ms ? String(s.response.delay_ms) : "");
  const [rules, setRules] = useState<ResponseRule[]>(s.response?.rules || []);
  const [fUrl, setFUrl] = useState(s.forward?.url || "");
  const [fTimeout, setFTimeout] = useState(s.forward?.timeout || "");
  const [fMode, setFMode] = useState(s.forward?.mode || "async");
  const [fRetry, setFRetry] = useState(s.forward?.retry?.max_attempts ? String(s.forward.retry.max_attempts) : "");
  const [fInitial, setFInitial] = useState(s.forward?.retry?.initial || "");
  const [fMax, setFMax] = useState(s.forward?.retry?.max || "");
  const [fFilter, setFFilter] = useState(s.forward?.filter || "");
  const [enforce, setEnforce] = useState(!!s.signature?.enforce);
  const [cors, setCors] = useState(!!s.response?.cors);
  const [cidrs, setCidrs] = useState((s.allow_cidrs || []).join("\n"));
  const [redHeaders, setRedHeaders] = useState((s.redact?.headers || []).join("\n"));
  const [redPaths, setRedPaths] = useState((s.redact?.body_paths || []).join("\n"));
  const [storeBody, setStoreBody] = useState(s.redact?.store_body !== false);
  const [retAge, setRetAge] = useState(s.retention?.max_age || "");
  const [retMax, setRetMax] = useState(s.retention?.max_requests ? String(s.retention.max_requests) : "");
  const [busy, setBusy] = useState(false);
  const [share, setShare] = useState("");

  const save = async (e: Event) => {
    e.preventDefault();
    const patch: any = { name: name.trim() };
    if (expiry) patch.expires_in = expiry === "never" ? null : expiry;
    if (scheme) {
      patch.signature = { scheme, tolerance: tolerance.trim() || undefined } as any;
      if (secret) patch.signature.secret = secret;
      if (scheme === "hmac") Object.assign(patch.signature, { header: hHeader.trim(), algorithm: hAlg, encoding: hEnc, prefix: hPrefix });
      if (enforce) patch.signature.enforce = true;
    } else patch.signature = null;
    const hasResponse = rStatus || rHeaders.trim() || rBody || rDelay || rules.length || cors;
    patch.response = hasResponse
      ? {
          status: num(rStatus),
          headers: withJSONType(textToHeaders(rHeaders), rBody),
          body: rBody,
          delay_ms: num(rDelay),
          rules: rules.map((r) => {
            const h = withJSONType(r.headers || [], r.body);
            return {
              ...r,
              method: r.method?.toUpperCase() || undefined,
              path_prefix: r.path_prefix || undefined,
              headers: h.length ? h : undefined,
              header: cleanMatch(r.header, "name"),
              query: cleanMatch(r.query, "name"),
              body_field: cleanMatch(r.body_field, "path"),
            };
          }),
          cors: cors || undefined,
        }
      : null;
    const cidrList = lines(cidrs);
    patch.allow_cidrs = cidrList.length ? cidrList : null;
    const rh = lines(redHeaders);
    const rp = redPaths
      .split("\n")
      .map((x) => x.trim())
      .filter(Boolean);
    patch.redact = rh.length || rp.length || !storeBody ? { headers: rh.length ? rh : undefined, body_paths: rp.length ? rp : undefined, store_body: storeBody ? undefined : false } : null;
    patch.retention = retAge.trim() || retMax.trim() ? { max_age: retAge.trim() || undefined, max_requests: num(retMax) } : null;
    patch.forward = fUrl.trim()
      ? {
          url: fUrl.trim(),
          timeout: fTimeout.trim() || undefined,
          mode: fMode,
          retry: fRetry.trim() && fMode === "async" ? { max_attempts: num(fRetry), initial: fInitial.trim() || undefined, max: fMax.trim() || undefined } : undefined,
          filter: fFilter.trim() || undefined,
        }
      : null;
    setBusy(true);
    try {
      const b = await api.patchBin(bin.id, patch);
      setSecret("");
      setExpiry("");
      onSaved(b && b.id ? b : await api.getBin(bin.id));
      toast("Settings saved");
    } catch (err: any) {
      toast(`Save failed: ${err.message}`, "err");
    } finally {
      setBusy(false);
    }
  };

  const setRule = (i: number, patch: Partial<ResponseRule>) => setRules(rules.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  const tok = tokenFor(bin.id);

  return (
    <form class="panel settings" onSubmit={save} data-testid="settings">
      <fieldset class="card">
        <legend>Bin</legend>
        <div class="grid2">
          <label>
            Name
            <input value={name} onInput={(e) => setName(e.currentTarget.value)} maxLength={200} name="name" />
          </label>
          <label>
            Expiry
            <select value={expiry} onChange={(e) => setExpiry(e.currentTarget.value)}>
              <option value="">{bin.expires_at ? `unchanged (${new Date(bin.expires_at).toLocaleString()})` : "unchanged (never)"}</option>
              <option value="1h">1 hour from now</option>
              <option value="24h">24 hours from now</option>
              <option value="168h">7 days from now</option>
              <option value="720h">30 days from now</option>
              <option value="never">never</option>
            </select>
          </label>
        </div>
        {typeof bin.request_count === "number" && <p class="muted small">{bin.request_count.toLocaleString()} requests stored.</p>}
      </fieldset>

      <fieldset class="card">
        <legend>Signature verification</legend>
        <div class="grid3">
          <label>
            Scheme
            <select value={scheme} onChange={(e) => setScheme(e.currentTarget.value)} name="scheme">
              <option value="">none</option>
              {SCHEMES.map((x) => (
                <option key={x} value={x}>
                  {x}
                </option>
              ))}
            </select>
          </label>
          <label>
            Secret
            <input type="password" value={secret} onInput={(e) => setSecret(e.currentTarget.value)} placeholder={s.signature?.secret_hint ? `current ${s.signature.secret_hint} (empty keeps it)` : "not set"} autocomplete="off" disabled={!scheme} name="secret" />
          </label>
          <label>
            Tolerance
            <input value={tolerance} onInput={(e) => setTolerance(e.currentTarget.value)} placeholder="scheme default" disabled={!scheme} />
          </label>
        </div>
        {scheme === "hmac" && (
          <div class="grid4">
            <label>
              Header
              <input value={hHeader} onInput={(e) => setHHeader(e.currentTarget.value)} placeholder="e.g. X-Signature" />
            </label>
            <label>
              Algorithm
              <select value={hAlg} onChange={(e) => setHAlg(e.currentTarget.value)}>
                <option>sha1</option>
                <option>sha256</option>
                <option>sha512</option>
              </select>
            </label>
            <label>
              Encoding
              <select value={hEnc} onChange={(e) => setHEnc(e.currentTarget.value)}>
                <option>hex</option>
                <option>base64</option>
              </select>
            </label>
            <label>
              Prefix
              <input value={hPrefix} onInput={(e) => setHPrefix(e.currentTarget.value)} placeholder="none" />
            </label>
          </div>
        )}
        <label class="check">
          <input type="checkbox" checked={enforce} onChange={(e) => setEnforce(e.currentTarget.checked)} disabled={!scheme} name="enforce" />
          Enforce: answer 401 to invalid or missing signatures (still recorded, with the reason)
        </label>
        <p class="muted small">The secret is write-only: it is never shown again. A new secret applies to new requests only.</p>
      </fieldset>

      <fieldset class="card" data-testid="control">
        <legend>Senders, redaction and retention</legend>
        <div class="grid2">
          <label>
            Allowed senders (CIDRs, one per line)
            <textarea rows={2} value={cidrs} onInput={(e) => setCidrs(e.currentTarget.value)} placeholder="anyone (e.g. 10.0.0.0/8)" name="allow_cidrs" />
          </label>
          <p class="muted small">Other senders are answered 403 and still recorded, with the reason.</p>
        </div>
        <div class="grid2">
          <label>
            Redact headers (one per line)
            <textarea rows={2} value={redHeaders} onInput={(e) => setRedHeaders(e.currentTarget.value)} placeholder="e.g. X-Shop-Token" name="redact_headers" />
          </label>
          <label>
            Redact JSON body paths (one per line)
            <textarea rows={2} value={redPaths} onInput={(e) => setRedPaths(e.currentTarget.value)} placeholder="e.g. card.number" name="redact_paths" />
          </label>
        </div>
        <label class="check">
          <input type="checkbox" checked={!storeBody} onChange={(e) => setStoreBody(!e.currentTarget.checked)} name="metadata_only" />
          Metadata only: do not store bodies
        </label>
        <p class="muted small">
          Values are replaced with [redacted] before anything is stored, on top of the server's list (Authorization, Cookie, … by default). Signatures are checked on the request as it arrived.
        </p>
        <div class="grid2">
          <label>
            Keep requests for
            <input value={retAge} onInput={(e) => setRetAge(e.currentTarget.value)} placeholder="forever (e.g. 72h or 7d)" name="retention_age" />
          </label>
          <label>
            Keep at most
            <input type="number" min={1} value={retMax} onInput={(e) => setRetMax(e.currentTarget.value)} placeholder="no limit (requests)" name="retention_max" />
          </label>
        </div>
      </fieldset>

      <fieldset class="card">
        <legend>Response</legend>
        <div class="grid3">
          <label>
            Status
            <input type="number" min={100} max={599} value={rStatus} onInput={(e) => setRStatus(e.currentTarget.value)} placeholder="default 200" />
          </label>
          <label>
            Delay (ms)
            <input type="number" min={0} max={30000} value={rDelay} onInput={(e) => setRDelay(e.currentTarget.value)} placeholder="none" />
          </label>
        </div>
        <div class="grid2">
          <label>
            Headers (one "Name: value" per line)
            <textarea rows={3} value={rHeaders} onInput={(e) => setRHeaders(e.currentTarget.value)} placeholder="none (a JSON body is sent as application/json)" />
          </label>
          <label>
            Body
            <textarea rows={3} value={rBody} onInput={(e) => setRBody(e.currentTarget.value)} placeholder="empty; may use {{request.id}}, {{body.path}}, {{header.Name}}" />
          </label>
        </div>
        <label class="check">
          <input type="checkbox" checked={cors} onChange={(e) => setCors(e.currentTarget.checked)} name="cors" />
          CORS: answer browser preflights and allow any origin
        </label>
        <div class="rules">
          <div class="rules-head">
            <span>Rules (first match wins)</span>
            <button type="button" class="btn btn-small" onClick={() => setRules([...rules, { method: "", path_prefix: "/", status: 200 }])}>
              Add rule
            </button>
          </div>
          {rules.map((r, i) => (
            <div class="rule" key={i}>
              <input value={r.method || ""} onInput={(e) => setRule(i, { method: e.currentTarget.value })} placeholder="method (any)" aria-label="Rule method" />
              <input value={r.path_prefix || ""} onInput={(e) => setRule(i, { path_prefix: e.currentTarget.value })} placeholder="/path prefix" aria-label="Rule path prefix" />
              <input type="number" value={r.status ?? ""} onInput={(e) => setRule(i, { status: num(e.currentTarget.value) })} placeholder="status" aria-label="Rule status" />
              <input value={r.body || ""} onInput={(e) => setRule(i, { body: e.currentTarget.value })} placeholder="body" aria-label="Rule body" />
              <textarea
                rows={1}
                value={headersToText(r.headers)}
                onInput={(e) => setRule(i, { headers: textToHeaders(e.currentTarget.value) })}
                placeholder="headers, Name: value per line"
                aria-label="Rule headers"
              />
              <input type="number" value={r.delay_ms ?? ""} onInput={(e) => setRule(i, { delay_ms: num(e.currentTarget.value) })} placeholder="delay ms" aria-label="Rule delay" />
              <button type="button" class="btn btn-small btn-ghost" onClick={() => setRules(rules.filter((_, j) => j !== i))} aria-label="Remove rule">
                ✕
              </button>
              <div class="rule-when">
                <span class="muted small">and when</span>
                <MatchInputs label="header" keyName="name" m={r.header} onChange={(m) => setRule(i, { header: m })} />
                <MatchInputs label="query param" keyName="name" m={r.query} onChange={(m) => setRule(i, { query: m })} />
                <MatchInputs label="JSON body path" keyName="path" m={r.body_field} onChange={(m) => setRule(i, { body_field: m })} />
              </div>
            </div>
          ))}
        </div>
      </fieldset>

      <fieldset class="card">
        <legend>Forwarding</legend>
        <div class="grid3">
          <label class="span2">
            Target URL
            <input type="url" name="forward_url" value={fUrl} onInput={(e) => setFUrl(e.currentTarget.value)} placeholder="none (e.g. https://example.com/webhooks)" />
          </label>
          <label>
            Timeout
            <input value={fTimeout} onInput={(e) => setFTimeout(e.currentTarget.value)} placeholder="default 10s" />
          </label>
          <label>
            Mode
            <select value={fMode} onChange={(e) => setFMode(e.currentTarget.value)}>
              <option value="async">async (answer with the bin's response)</option>
              <option value="proxy">proxy (answer with the target's response)</option>
            </select>
          </label>
          <label>
            Retry attempts
            <input name="forward_retry" inputMode="numeric" value={fRetry} onInput={(e) => setFRetry(e.currentTarget.value)} placeholder="1 (no retry); up to 20" disabled={fMode !== "async"} />
          </label>
          <label>
            First retry after
            <input name="forward_retry_initial" value={fInitial} onInput={(e) => setFInitial(e.currentTarget.value)} placeholder="10s, then doubling" disabled={fMode !== "async"} />
          </label>
          <label>
            At most apart
            <input name="forward_retry_max" value={fMax} onInput={(e) => setFMax(e.currentTarget.value)} placeholder="1h" disabled={fMode !== "async"} />
          </label>
          <label class="span2">
            Only forward what matches
            <input name="forward_filter" value={fFilter} onInput={(e) => setFFilter(e.currentTarget.value)} placeholder="every request (e.g. method=POST&event_type=push&header=X-Env:prod)" />
          </label>
        </div>
      </fieldset>

      <div class="savebar">
        <button type="submit" class="btn btn-primary" disabled={busy} data-testid="save-settings">
          {busy ? "Saving…" : "Save settings"}
        </button>
      </div>

      <fieldset class="card">
        <legend>Sharing</legend>
        {tok && (
          <>
            <div class="urlbar">
              <code class="url mono">{`${location.origin}${binPath(bin.id)}?token=${tok}`}</code>
              <CopyButton text={`${location.origin}${binPath(bin.id)}?token=${tok}`} label="Copy owner link" />
            </div>
            <p class="warn small storage-warn" data-testid="storage-warn">
              The owner token lives only in this browser. Clearing its storage (site data) loses control of this bin: keep the owner link somewhere safe.
            </p>
          </>
        )}
        <button
          type="button"
          class="btn btn-small"
          onClick={async () => {
            try {
              const r = await api.shareBin(bin.id, "24h");
              setShare(r.url);
            } catch (err: any) {
              toast(`Share failed: ${err.message}`, "err");
            }
          }}
        >
          Create a read-only link (24h)
        </button>
        {share && (
          <div class="urlbar">
            <code class="url mono">{share}</code>
            <CopyButton text={share} />
          </div>
        )}
      </fieldset>

      <fieldset class="card danger">
        <legend>Danger zone</legend>
        <button
          type="button"
          class="btn btn-danger"
          onClick={async () => {
            if (!confirm("Delete every captured request of this bin?")) return;
            try {
              await api.clearRequests(bin.id);
              toast("Requests cleared");
            } catch (err: any) {
              toast(`Clear failed: ${err.message}`, "err");
            }
          }}
        >
          Clear requests
        </button>{" "}
        <button
          type="button"
          class="btn btn-danger"
          onClick={async () => {
            if (!confirm("Delete this bin and everything it captured?")) return;
            try {
              await api.deleteBin(bin.id);
              forgetBin(bin.id);
              navigate("/");
            } catch (err: any) {
              toast(`Delete failed: ${err.message}`, "err");
            }
          }}
        >
          Delete bin
        </button>
      </fieldset>
    </form>
  );
}
