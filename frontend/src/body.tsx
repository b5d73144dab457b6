import { useMemo, useState } from "preact/hooks";
import type { Bin, RequestSummary } from "./types";
import { boundaryOf, formatSize, hexDump, looksLikeXML, parseMultipart, parseQuery, prettyXML } from "./format";
import { JsonTree } from "./json";
import { DownloadButton, KVTable } from "./detail";
import { CopyButton } from "./ui";

export interface LoadedBody {
  bytes: Uint8Array | null; // null when only text is known (encoded on demand)
  text: string | null; // null when the body is not valid UTF-8
}

// Caps that keep a 10 MB body from freezing the page.
const TEXT_CAP = 256 * 1024;
const JSON_CAP = 2 * 1024 * 1024;
const HEX_STEP = 64 * 1024;

type View = "json" | "form" | "multipart" | "xml" | "raw" | "hex";

export function BodyViewer({ bin, rec, body }: { bin: Bin; rec: RequestSummary; body: LoadedBody }) {
  const ct = (rec.content_type || "").toLowerCase();
  const text = body.text;
  const json = useMemo(() => {
    if (text == null || text.length > JSON_CAP) return undefined;
    const s = text.trimStart();
    if (!(ct.includes("json") || s.startsWith("{") || s.startsWith("["))) return undefined;
    try {
      return { v: JSON.parse(text) };
    } catch {
      return undefined;
    }
  }, [text]);
  const views: View[] = [];
  if (json) views.push("json");
  if (text != null && ct.includes("x-www-form-urlencoded")) views.push("form");
  if (text != null && ct.includes("multipart/form-data") && boundaryOf(rec.content_type)) views.push("multipart");
  if (text != null && !json && looksLikeXML(ct, text.slice(0, 4096))) views.push("xml");
  if (text != null) views.push("raw");
  views.push("hex");
  const [view, setView] = useState<View>(views[0]);
  const [hexLimit, setHexLimit] = useState(HEX_STEP);
  const cur = views.includes(view) ? view : views[0];

  const size = body.bytes ? body.bytes.length : text?.length ?? 0;
  if (size === 0 && rec.body_size === 0) return <p class="muted">No body.</p>;

  const bytes = () => body.bytes ?? new TextEncoder().encode(text ?? "");
  const capped = (s: string) => (s.length > TEXT_CAP ? s.slice(0, TEXT_CAP) : s);
  const labels: Record<View, string> = { json: "JSON", form: "Form", multipart: "Multipart", xml: "XML", raw: "Raw", hex: "Hex" };

  return (
    <div class="bodyviewer">
      <div class="body-toolbar">
        <div class="seg" role="tablist" aria-label="Body view">
          {views.map((v) => (
            <button key={v} type="button" role="tab" aria-selected={cur === v} class={cur === v ? "active" : ""} onClick={() => setView(v)} data-testid={`view-${v}`}>
              {labels[v]}
            </button>
          ))}
        </div>
        <div class="body-actions">
          {text != null && <CopyButton text={() => text} label="Copy body" />}
          <DownloadButton bin={bin} id={rec.id} />
        </div>
      </div>
      {rec.body_truncated && <p class="warn small">Truncated by the server: {formatSize(rec.body_size)} sent, the first {formatSize(size)} kept.</p>}
      {cur === "json" && json && <JsonTree value={json.v} />}
      {cur === "form" && text != null && <KVTable rows={parseQuery(text)} testid="form-table" />}
      {cur === "multipart" && text != null && <Multipart text={text} ct={rec.content_type} />}
      {cur === "xml" && text != null && <Pre text={capped(prettyXML(capped(text)))} full={text.length} />}
      {cur === "raw" && text != null && <Pre text={capped(text)} full={text.length} />}
      {cur === "hex" && (
        <>
          <pre class="code hex" data-testid="hex">
            {hexDump(bytes(), hexLimit)}
          </pre>
          {bytes().length > hexLimit && (
            <p class="muted small">
              Showing the first {formatSize(hexLimit)} of {formatSize(bytes().length)}.{" "}
              {hexLimit < 1 << 20 && (
                <button type="button" class="btn btn-small" onClick={() => setHexLimit(hexLimit * 4)}>
                  Show more
                </button>
              )}
            </p>
          )}
        </>
      )}
    </div>
  );
}

function Pre({ text, full }: { text: string; full: number }) {
  return (
    <>
      <pre class="code" data-testid="body-text">
        {text}
      </pre>
      {full > text.length && <p class="muted small">Showing the first {formatSize(TEXT_CAP)} characters; download the raw body for all of it.</p>}
    </>
  );
}

function Multipart({ text, ct }: { text: string; ct: string }) {
  const parts = useMemo(() => parseMultipart(text, boundaryOf(ct) || ""), [text, ct]);
  if (!parts.length) return <p class="muted">No parts found.</p>;
  return (
    <table class="kv" data-testid="multipart-table">
      <tbody>
        {parts.map((p, i) => (
          <tr key={i}>
            <th class="mono">
              {p.name}
              {p.filename ? <div class="muted small">file: {p.filename}</div> : null}
              {p.contentType ? <div class="muted small">{p.contentType}</div> : null}
            </th>
            <td class="mono">{p.filename ? `${formatSize(p.size)}${p.value.length <= 2048 ? "\n" + p.value : ""}` : p.value.slice(0, TEXT_CAP)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
