import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import type { RequestSummary } from "./types";
import { clockTime, formatLatency, formatSize, providerOf, relTime, statusClass } from "./format";
import { displayPath } from "./format";
import { Hi, SigBadge, useNow } from "./ui";
import { ForwardBadge } from "./forward";

export const ROW_HEIGHT = 52;
const OVERSCAN = 8;

interface Props {
  items: RequestSummary[];
  version: number;
  cursor?: string;
  openId?: string;
  reveal?: string; // scroll this request into view once the list holds it
  toTop?: number; // scroll to the newest each time this changes
  highlight?: string; // search term marked in paths
  onAtTop?: (atTop: boolean) => void;
  onOpen: (id: string) => void;
  onEnd: () => void;
}

// A virtualized list: only the rows in view (plus a few) exist in the DOM, so
// a bin with 100 000 requests scrolls like one with ten.
export function RequestList({ items, version, cursor, openId, reveal, toTop, highlight, onAtTop, onOpen, onEnd }: Props) {
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
    keepAnchor(el.scrollTop);
  }, [cursor]);

  // A deep link: once the list holds the request, put it mid-screen.
  const revealed = useRef<string | undefined>(undefined);
  useEffect(() => {
    if (!reveal || revealed.current === reveal) return;
    const el = ref.current!;
    const i = items.findIndex((r) => r.id === reveal);
    if (i < 0) return;
    revealed.current = reveal;
    const top = i * ROW_HEIGHT;
    const want = Math.max(0, top - Math.floor(el.clientHeight / 2));
    const place = () => {
      if (top >= el.scrollTop && top + ROW_HEIGHT <= el.scrollTop + el.clientHeight) return;
      el.scrollTop = want;
      setScrollTop(el.scrollTop);
      keepAnchor(el.scrollTop);
    };
    place();
    // Renders right after a deep link (the last page, the count) can still
    // move the list: check again on the next frames.
    let n = 0;
    const again = () => {
      if (revealed.current !== reveal || ++n > 10) return;
      place();
      requestAnimationFrame(again);
    };
    requestAnimationFrame(again);
  }, [reveal, version]);

  useEffect(() => {
    if (!toTop) return;
    ref.current!.scrollTop = 0;
    setScrollTop(0);
    anchor.current = null;
  }, [toTop]);

  const wasTop = useRef(true);
  useEffect(() => {
    const t = scrollTop < ROW_HEIGHT / 2;
    if (t !== wasTop.current) {
      wasTop.current = t;
      onAtTop?.(t);
    }
  }, [scrollTop]);

  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(items.length, Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN);

  // The anchor follows every scroll made here at once, so that a render in
  // between cannot pull the list back to a stale position.
  function keepAnchor(st: number) {
    const top = items[Math.floor(st / ROW_HEIGHT)];
    anchor.current = top ? { id: top.id, offset: st - Math.floor(st / ROW_HEIGHT) * ROW_HEIGHT } : null;
  }
  useEffect(() => {
    keepAnchor(scrollTop);
    if (last >= items.length - OVERSCAN) onEnd();
  }, [scrollTop, version, height]);

  const rows = [];
  for (let i = first; i < last; i++) {
    const r = items[i];
    rows.push(<Row key={r.id} r={r} top={i * ROW_HEIGHT} now={now} active={r.id === cursor} open={r.id === openId} hl={highlight} onOpen={onOpen} />);
  }
  return (
    <div class="vlist" ref={ref} onScroll={(e) => setScrollTop(e.currentTarget.scrollTop)} role="listbox" aria-label="Requests" data-testid="request-list" data-loaded={items.length}>
      <div class="vlist-spacer" style={{ height: `${items.length * ROW_HEIGHT}px` }}>
        {rows}
      </div>
    </div>
  );
}

function Row({ r, top, now, active, open, hl, onOpen }: { r: RequestSummary; top: number; now: number; active: boolean; open: boolean; hl?: string; onOpen: (id: string) => void }) {
  const sig = r.signature;
  const pv = providerOf(r);
  const f = r.forward;
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
          <Hi text={displayPath(r.path)} term={hl} />
          {r.query ? (
            <span class="query">
              ?<Hi text={r.query} term={hl} />
            </span>
          ) : null}
        </span>
        {(pv.provider || pv.event) && (
          <span class="provider" data-testid="provider" title={`provider ${pv.provider || "unknown"}${pv.event ? `, event ${pv.event}` : ""}`}>
            {pv.provider}
            {pv.provider && pv.event ? " · " : ""}
            {pv.event && <span class="pv-event">{pv.event}</span>}
          </span>
        )}
        {r.replay_of && (
          <span class="replay-marker" data-testid="replay-marker" title={`replay of ${r.replay_of}`}>
            ↻ replay
          </span>
        )}
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
        {f && <ForwardBadge id={r.id} f={f} />}
      </div>
    </div>
  );
}
