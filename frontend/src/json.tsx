import { useMemo, useState } from "preact/hooks";
import { jsonPath } from "./format";
import { copyText, Hi, toast } from "./ui";

// Collapsible JSON tree. Values are rendered as text nodes only. A click on
// a line selects the node (copy its value or its path); containers holding a
// find hit open by themselves.
const CHILD_PAGE = 200;
const HIT_WALK_LIMIT = 200_000;

type Path = (string | number)[];

interface Ctx {
  openDepth: number;
  find: string;
  hits: Set<string>; // paths (jsonPath) of containers that hold a hit
  selected: string;
  select: (p: Path, v: unknown) => void;
}

// hitContainers walks v (bounded) and returns the paths of the containers
// under which a key or a value contains term, and the number of hits.
export function hitContainers(v: unknown, term: string): { paths: Set<string>; count: number } {
  const paths = new Set<string>();
  let count = 0;
  if (!term) return { paths, count };
  const t = term.toLowerCase();
  let budget = HIT_WALK_LIMIT;
  const walk = (x: unknown, p: Path): boolean => {
    if (--budget < 0) return false;
    if (x === null || typeof x !== "object") {
      const hit = (typeof x === "string" ? JSON.stringify(x) : String(x)).toLowerCase().includes(t);
      if (hit) count++;
      return hit;
    }
    let any = false;
    if (Array.isArray(x)) x.forEach((c, i) => (any = walk(c, [...p, i]) || any));
    else
      for (const [k, c] of Object.entries(x)) {
        if (JSON.stringify(k).toLowerCase().includes(t)) {
          count++;
          any = true;
        }
        any = walk(c, [...p, k]) || any;
      }
    if (any) paths.add(jsonPath(p));
    return any;
  };
  walk(v, []);
  return { paths, count };
}

export function JsonTree({ value, find = "" }: { value: unknown; find?: string }) {
  const [mode, setMode] = useState<{ open: number; gen: number }>({ open: 3, gen: 0 });
  const [sel, setSel] = useState<{ path: Path; value: unknown } | null>(null);
  const hits = useMemo(() => hitContainers(value, find), [value, find]);
  const selected = sel ? jsonPath(sel.path) : "";
  const ctx: Ctx = { openDepth: mode.open, find, hits: hits.paths, selected, select: (path, v) => setSel({ path, value: v }) };
  const valueText = (v: unknown) => (typeof v === "string" ? v : JSON.stringify(v, null, 2));
  return (
    <div class="json" data-testid="json-view">
      <div class="json-tools">
        {sel ? (
          <span class="json-sel" data-testid="json-selected">
            <code class="mono">{selected}</code>
            <button type="button" class="btn btn-small" data-testid="copy-value" onClick={async () => toast((await copyText(valueText(sel.value))) ? "Value copied" : "Copy failed")}>
              Copy value
            </button>
            <button type="button" class="btn btn-small" data-testid="copy-path" onClick={async () => toast((await copyText(selected)) ? "Path copied" : "Copy failed")}>
              Copy path
            </button>
          </span>
        ) : (
          <span class="muted small json-hint">Click a line to copy its value or path</span>
        )}
        <span class="fill" />
        <button type="button" class="btn btn-small btn-ghost" onClick={() => setMode({ open: 1e9, gen: mode.gen + 1 })}>
          Expand all
        </button>
        <button type="button" class="btn btn-small btn-ghost" onClick={() => setMode({ open: 0, gen: mode.gen + 1 })}>
          Collapse all
        </button>
      </div>
      <div class="code json-code" key={`${mode.gen}:${find}`}>
        <Node path={[]} v={value} depth={0} ctx={ctx} last />
      </div>
    </div>
  );
}

function Key({ k, ctx }: { k?: string | number; ctx: Ctx }) {
  if (typeof k !== "string") return null;
  return (
    <>
      <span class="json-key">
        <Hi text={JSON.stringify(k)} term={ctx.find} />
      </span>
      <span class="json-punct">: </span>
    </>
  );
}

function Node({ path, v, depth, ctx, last }: { path: Path; v: unknown; depth: number; ctx: Ctx; last: boolean }) {
  const comma = last ? "" : ",";
  const k = path[path.length - 1];
  if (v === null || typeof v !== "object") {
    const p = jsonPath(path);
    return (
      <div class={`json-line ${ctx.selected === p ? "json-selected" : ""}`} onClick={() => ctx.select(path, v)}>
        <Key k={k} ctx={ctx} />
        <Prim v={v} find={ctx.find} />
        <span class="json-punct">{comma}</span>
      </div>
    );
  }
  return <Container path={path} v={v as object} depth={depth} ctx={ctx} comma={comma} />;
}

function Container({ path, v, depth, ctx, comma }: { path: Path; v: object; depth: number; ctx: Ctx; comma: string }) {
  const isArr = Array.isArray(v);
  const entries: [string | number, unknown][] = isArr ? (v as unknown[]).map((x, i) => [i, x]) : Object.entries(v);
  const p = jsonPath(path);
  const [open, setOpen] = useState((depth < ctx.openDepth && entries.length <= 500) || ctx.hits.has(p));
  const [shown, setShown] = useState(CHILD_PAGE);
  const [o, c] = isArr ? ["[", "]"] : ["{", "}"];
  const k = path[path.length - 1];
  const lineClass = `json-line ${ctx.selected === p ? "json-selected" : ""}`;
  const pick = (e: MouseEvent) => {
    if ((e.target as HTMLElement).closest("button")) return;
    ctx.select(path, v);
  };
  if (entries.length === 0) {
    return (
      <div class={lineClass} onClick={pick}>
        <Key k={k} ctx={ctx} />
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
      <div class={lineClass} onClick={pick}>
        <button type="button" class="json-toggle" onClick={() => setOpen(!open)} aria-expanded={open} aria-label={open ? "Collapse" : "Expand"}>
          {open ? "▾" : "▸"}
        </button>
        <Key k={k} ctx={ctx} />
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
              <Node key={i} path={[...path, ck]} v={cv} depth={depth + 1} ctx={ctx} last={i === entries.length - 1} />
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

function Prim({ v, find }: { v: unknown; find: string }) {
  if (v === null) return <span class="json-null">null</span>;
  switch (typeof v) {
    case "string":
      return (
        <span class="json-str">
          <Hi text={JSON.stringify(v)} term={find} />
        </span>
      );
    case "number":
      return (
        <span class="json-num">
          <Hi text={String(v)} term={find} />
        </span>
      );
    case "boolean":
      return <span class="json-bool">{String(v)}</span>;
    default:
      return <span>{String(v)}</span>;
  }
}
