import { useEffect, useState } from "preact/hooks";
import type { ComponentChildren } from "preact";
import { splitHits } from "./format";

export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* fall back below */
  }
  const ta = document.createElement("textarea");
  ta.value = text;
  ta.setAttribute("readonly", "");
  ta.className = "offscreen";
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand("copy");
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

export function CopyButton({ text, label = "Copy", className = "" }: { text: string | (() => string); label?: string; className?: string }) {
  const [done, setDone] = useState<"" | "ok" | "fail">("");
  useEffect(() => {
    if (!done) return;
    const t = setTimeout(() => setDone(""), 1500);
    return () => clearTimeout(t);
  }, [done]);
  return (
    <button
      type="button"
      class={`btn btn-small ${className}`}
      onClick={async () => setDone((await copyText(typeof text === "function" ? text() : text)) ? "ok" : "fail")}
    >
      {done === "ok" ? "Copied" : done === "fail" ? "Copy failed" : label}
    </button>
  );
}

// Toasts: short messages at the bottom of the screen.
type Toast = { id: number; text: string; kind: "ok" | "err" };
let toasts: Toast[] = [];
let toastSeq = 0;
const toastListeners = new Set<(t: Toast[]) => void>();

export function toast(text: string, kind: "ok" | "err" = "ok") {
  const t = { id: ++toastSeq, text, kind };
  toasts = [...toasts, t].slice(-4);
  toastListeners.forEach((l) => l(toasts));
  setTimeout(() => {
    toasts = toasts.filter((x) => x.id !== t.id);
    toastListeners.forEach((l) => l(toasts));
  }, 3500);
}

export function Toasts() {
  const [list, setList] = useState<Toast[]>(toasts);
  useEffect(() => {
    toastListeners.add(setList);
    return () => {
      toastListeners.delete(setList);
    };
  }, []);
  return (
    <div class="toasts" role="status" aria-live="polite">
      {list.map((t) => (
        <div key={t.id} class={`toast toast-${t.kind}`}>
          {t.text}
        </div>
      ))}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <div class="empty-title">{title}</div>
      {children && <div class="empty-body">{children}</div>}
    </div>
  );
}

export function SigBadge({ status, title }: { status?: string; title?: string }) {
  const s = status || "unchecked";
  const label = s === "valid" ? "✓ sig" : s === "invalid" ? "✗ sig" : s === "missing" ? "? sig" : "";
  if (!label) return null;
  return (
    <span class={`sig sig-${s}`} title={title || `signature ${s}`}>
      {label}
    </span>
  );
}

export function useNow(ms = 10000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

// Hi renders text with the occurrences of term marked (as text nodes in
// <mark> elements, never as HTML).
export function Hi({ text, term, max = 200 }: { text: string; term?: string; max?: number }) {
  if (!term) return <>{text}</>;
  const parts = splitHits(text, term, max);
  if (parts.length === 1) return <>{text}</>;
  return <>{parts.map((p, i) => (i % 2 ? <mark key={i} class="hit">{p}</mark> : p))}</>;
}
