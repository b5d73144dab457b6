import { useState } from "preact/hooks";

// Collapsible JSON tree. Values are rendered as text nodes only.
const CHILD_PAGE = 200;

export function JsonTree({ value }: { value: unknown }) {
  const [mode, setMode] = useState<{ open: number; gen: number }>({ open: 3, gen: 0 });
  return (
    <div class="json" data-testid="json-view">
      <div class="json-tools">
        <button type="button" class="btn btn-small btn-ghost" onClick={() => setMode({ open: 1e9, gen: mode.gen + 1 })}>
          Expand all
        </button>
        <button type="button" class="btn btn-small btn-ghost" onClick={() => setMode({ open: 0, gen: mode.gen + 1 })}>
          Collapse all
        </button>
      </div>
      <div class="code json-code" key={mode.gen}>
        <Node v={value} depth={0} openDepth={mode.open} last />
      </div>
    </div>
  );
}

function Node({ k, v, depth, openDepth, last }: { k?: string; v: unknown; depth: number; openDepth: number; last: boolean }) {
  const comma = last ? "" : ",";
  const keyEl = k !== undefined ? (
    <>
      <span class="json-key">{JSON.stringify(k)}</span>
      <span class="json-punct">: </span>
    </>
  ) : null;
  if (v === null || typeof v !== "object") {
    return (
      <div class="json-line">
        {keyEl}
        <Prim v={v} />
        <span class="json-punct">{comma}</span>
      </div>
    );
  }
  return <Container k={keyEl} v={v as object} depth={depth} openDepth={openDepth} comma={comma} />;
}

function Container({ k, v, depth, openDepth, comma }: { k: any; v: object; depth: number; openDepth: number; comma: string }) {
  const isArr = Array.isArray(v);
  const entries: [string | undefined, unknown][] = isArr ? (v as unknown[]).map((x) => [undefined, x]) : Object.entries(v);
  const [open, setOpen] = useState(depth < openDepth && entries.length <= 500);
  const [shown, setShown] = useState(CHILD_PAGE);
  const [o, c] = isArr ? ["[", "]"] : ["{", "}"];
  if (entries.length === 0) {
    return (
      <div class="json-line">
        {k}
        <span class="json-punct">
          {o}
          {c}
          {comma}
        </span>
      </div>
    );
  }
  return (
    <div class="json-node">
      <div class="json-line">
        <button type="button" class="json-toggle" onClick={() => setOpen(!open)} aria-expanded={open} aria-label={open ? "Collapse" : "Expand"}>
          {open ? "▾" : "▸"}
        </button>
        {k}
        <span class="json-punct">{o}</span>
        {!open && (
          <>
            <button type="button" class="json-summary" onClick={() => setOpen(true)}>
              {isArr ? `${entries.length} item${entries.length === 1 ? "" : "s"}` : `${entries.length} key${entries.length === 1 ? "" : "s"}`}
            </button>
            <span class="json-punct">
              {c}
              {comma}
            </span>
          </>
        )}
      </div>
      {open && (
        <>
          <div class="json-children">
            {entries.slice(0, shown).map(([ck, cv], i) => (
              <Node key={i} k={ck} v={cv} depth={depth + 1} openDepth={openDepth} last={i === entries.length - 1} />
            ))}
            {entries.length > shown && (
              <button type="button" class="btn btn-small btn-ghost" onClick={() => setShown(shown + CHILD_PAGE * 5)}>
                Show {Math.min(CHILD_PAGE * 5, entries.length - shown)} more of {entries.length - shown}
              </button>
            )}
          </div>
          <div class="json-line">
            <span class="json-punct">
              {c}
              {comma}
            </span>
          </div>
        </>
      )}
    </div>
  );
}

function Prim({ v }: { v: unknown }) {
  if (v === null) return <span class="json-null">null</span>;
  switch (typeof v) {
    case "string":
      return <span class="json-str">{JSON.stringify(v)}</span>;
    case "number":
      return <span class="json-num">{String(v)}</span>;
    case "boolean":
      return <span class="json-bool">{String(v)}</span>;
    default:
      return <span>{String(v)}</span>;
  }
}
