import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import type { Bin, RequestSummary } from "./types";
import { boundaryOf, formatSize, hexDump, looksLikeXML, parseMultipart, parseQuery, prettyXML } from "./format";
import { JsonTree } from "./json";
import { DownloadButton, KVTable } from "./detail";
import { CopyButton, Hi } from "./ui";

export interface LoadedBody {
  bytes: Uint8Array | null; // null when only text is known (encoded on demand)
  text: string | null; // null when the body is not valid UTF-8
}

// Caps that keep a 10 MB body from freezing the page. JSON is parsed up to
// the server's default body limit (10 MiB) with room to spare; the tree
// renders lazily (collapsed big containers, children in pages).
const TEXT_CAP = 256 * 1024;
const JSON_CAP = 16 * 1024 * 1024;
const HEX_STEP = 64 * 1024;

type View = "json" | "pretty" | "form" | "multipart" | "xml" | "raw" | "hex";

export function BodyViewer({ bin, rec, body, find: initialFind = "" }: { bin: Bin; rec: RequestSummary; body: LoadedBody; find?: string }) {
  const ct = (rec.content_type || "").toLowerCase();
  const text = body.text;
  const [findInput, setFindInput] = useState(initialFind);
  const [find, setFind] = useState(initialFind);
  useEffect(() => {
    const t = setTimeout(() => setFind(findInput), 200);
    return () => clearTimeout(t);
  }, [findInput]);
  // json: the parsed value; note: why there is no tree when one was expected.
  const { json, note } = useMemo(() => {
    if (text == null) return { json: undefined, note: "" };
    const s = text.trimStart();
    const expected = ct.includes("json") || s.startsWith("{") || s.startsWith("[");
    if (!expected) return { json: undefined, note: "" };
    if (text.length > JSON_CAP) return { json: undefined, note: `This JSON body is ${formatSize(text.length)}, over the ${formatSize(JSON_CAP)} the tree handles: shown as text.` };
    if (rec.body_truncated) return { json: undefined, note: "The body was truncated by the server, so it is not complete JSON: shown as text." };
    try {
      return { json: { v: JSON.parse(text) as unknown }, note: "" };
    } catch (e: any) {
      return { json: undefined, note: `Not valid JSON (${String(e?.message || e).slice(0, 200)}): shown as text.` };
    }
  }, [text]);
  const pretty = useMemo(() => (json ? JSON.stringify(json.v, null, 2) : ""), [json]);
  const views: View[] = [];
  if (json) views.push("json", "pretty");
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
  const labels: Record<View, string> = { json: "JSON", pretty: "Pretty", form: "Form", multipart: "Multipart", xml: "XML", raw: "Raw", hex: "Hex" };
  const findable = cur !== "hex";

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
          {findable && text != null && (
            <FindBox value={findInput} onInput={setFindInput} view={cur} find={find} />
          )}
          {text != null && <CopyButton text={() => text} label="Copy body" />}
          <DownloadButton bin={bin} id={rec.id} />
        </div>
      </div>
      {rec.body_truncated && <p class="warn small">Truncated by the server: {formatSize(rec.body_size)} sent, the first {formatSize(size)} kept.</p>}
      {note && (
        <p class="note small" data-testid="body-note">
          {note}
        </p>
      )}
      {cur === "json" && json && <JsonTree value={json.v} find={find} />}
      {cur === "pretty" && json && <Pre text={capped(pretty)} full={pretty.length} find={find} />}
      {cur === "form" && text != null && <KVTable rows={parseQuery(text)} testid="form-table" hl={find} />}
      {cur === "multipart" && text != null && <Multipart text={text} ct={rec.content_type} />}
      {cur === "xml" && text != null && <Pre text={capped(prettyXML(capped(text)))} full={text.length} find={find} />}
      {cur === "raw" && text != null && <Pre text={capped(text)} full={text.length} find={find} />}
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

// FindBox searches the body view: hits are marked, Enter goes to the next.
function FindBox({ value, onInput, view, find }: { value: string; onInput: (s: string) => void; view: View; find: string }) {
  const at = useRef(-1);
  const [count, setCount] = useState(0);
  const box = useRef<HTMLSpanElement>(null);
  const marks = () => [...(box.current?.closest(".bodyviewer")?.querySelectorAll("mark.hit") ?? [])] as HTMLElement[];
  useEffect(() => {
    // After the view rendered its marks.
    const t = setTimeout(() => {
      at.current = -1;
      setCount(find ? marks().length : 0);
    }, 0);
    return () => clearTimeout(t);
  }, [find, view]);
  const go = (step: number) => {
    const m = marks();
    if (!m.length) return;
    m[at.current]?.classList.remove("current");
    at.current = (at.current + step + m.length) % m.length;
    m[at.current].classList.add("current");
    m[at.current].scrollIntoView({ block: "center" });
  };
  return (
    <span class="findbox" ref={box}>
      <input
        type="search"
        value={value}
        onInput={(e) => onInput(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter") {
            e.preventDefault();
            go(e.shiftKey ? -1 : 1);
          }
        }}
        placeholder="Find in body"
        aria-label="Find in body"
        data-testid="find"
      />
      {find && (
        <span class="muted small" data-testid="find-count">
          {count >= 1000 ? "1000+" : count} match{count === 1 ? "" : "es"}
        </span>
      )}
    </span>
  );
}

function Pre({ text, full, find = "" }: { text: string; full: number; find?: string }) {
  return (
    <>
      <pre class="code" data-testid="body-text">
        {find ? <Hi text={text} term={find} max={1000} /> : text}
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
