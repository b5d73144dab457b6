import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { RequestSummary } from "./types";
import { clockTime, formatSize, relTime, statusClass } from "./format";
import { displayPath } from "./format";
import { SigBadge, useNow } from "./ui";

export const ROW_HEIGHT = 52;
const OVERSCAN = 8;

interface Props {
  items: RequestSummary[];
  version: number;
  cursor?: string;
  openId?: string;
  onOpen: (id: string) => void;
  onEnd: () => void;
}

// A virtualized list: only the rows in view (plus a few) exist in the DOM, so
// a bin with 100 000 requests scrolls like one with ten.
export function RequestList({ items, version, cursor, openId, onOpen, onEnd }: Props) {
  const ref = useRef<HTMLDivElement>(null);
  const [scrollTop, setScrollTop] = useState(0);
  const [height, setHeight] = useState(600);
  const anchor = useRef<{ id: string; offset: number } | null>(null);
  const now = useNow(10000);

  useLayoutEffect(() => {
    const el = ref.current!;
    const ro = new ResizeObserver(() => setHeight(el.clientHeight));
    ro.observe(el);
    setHeight(el.clientHeight);
    return () => ro.disconnect();
  }, []);

  // Keep the rows under the user's eyes still when new ones arrive on top.
  useLayoutEffect(() => {
    const el = ref.current!;
    const a = anchor.current;
    if (a && el.scrollTop > 0) {
      const i = items.findIndex((r) => r.id === a.id);
      if (i >= 0) {
        const want = i * ROW_HEIGHT + a.offset;
        if (Math.abs(want - el.scrollTop) >= 1) {
          el.scrollTop = want;
          setScrollTop(want);
        }
      }
    }
  }, [version]);

  // Bring the keyboard cursor into view.
  useEffect(() => {
    if (!cursor) return;
    const el = ref.current!;
    const i = items.findIndex((r) => r.id === cursor);
    if (i < 0) return;
    const top = i * ROW_HEIGHT;
    if (top < el.scrollTop) el.scrollTop = top;
    else if (top + ROW_HEIGHT > el.scrollTop + el.clientHeight) el.scrollTop = top + ROW_HEIGHT - el.clientHeight;
  }, [cursor]);

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(items.length, Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN);

  useEffect(() => {
    const top = items[Math.floor(scrollTop / ROW_HEIGHT)];
    anchor.current = top ? { id: top.id, offset: scrollTop - Math.floor(scrollTop / ROW_HEIGHT) * ROW_HEIGHT } : null;
    if (last >= items.length - OVERSCAN) onEnd();
  }, [scrollTop, version, height]);

  const rows = [];
  for (let i = first; i < last; i++) {
    const r = items[i];
    rows.push(<Row key={r.id} r={r} top={i * ROW_HEIGHT} now={now} active={r.id === cursor} open={r.id === openId} onOpen={onOpen} />);
  }
  return (
    <div class="vlist" ref={ref} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)} role="listbox" aria-label="Requests" data-testid="request-list">
      <div class="vlist-spacer" style={{ height: `${items.length * ROW_HEIGHT}px` }}>
        {rows}
      </div>
    </div>
  );
}

function Row({ r, top, now, active, open, onOpen }: { r: RequestSummary; top: number; now: number; active: boolean; open: boolean; onOpen: (id: string) => void }) {
  const sig = r.signature;
  return (
    <div
      class={`row ${active ? "active" : ""} ${open ? "open" : ""}`}
      style={{ transform: `translateY(${top}px)` }}
      role="option"
      aria-selected={open}
      data-id={r.id}
      onClick={() => onOpen(r.id)}
    >
      <div class="row-line">
        <span class={`method m-${/^[A-Z]+$/.test(r.method) ? r.method.toLowerCase() : "other"}`}>{r.method}</span>
        <span class="path mono">
          {displayPath(r.path)}
          {r.query ? <span class="query">?{r.query}</span> : null}
        </span>
        <span class={`status ${statusClass(r.response_status)}`}>{r.response_status}</span>
      </div>
      <div class="row-line row-sub">
        <span class="time" title={new Date(r.received_at).toString()}>
          {clockTime(r.received_at)} · {relTime(r.received_at, now)}
        </span>
        <span class="ip mono">{r.remote_ip}</span>
        <span class="size">
          {formatSize(r.body_size)}
          {r.body_truncated ? " (truncated)" : ""}
        </span>
        {sig && <SigBadge status={sig.status} title={sig.reason ? `${sig.status}: ${sig.reason}` : undefined} />}
        {r.forward && <span class={`fwd ${r.forward.error || r.forward.status >= 400 ? "bad" : ""}`}>→ {r.forward.status || "err"}</span>}
      </div>
    </div>
  );
}
