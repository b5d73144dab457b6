// The search box's help popover (issue 17): the q= language, with examples
// that fill the box when clicked.
import { useEffect, useRef, useState } from "preact/hooks";

const ROWS: [string, string][] = [
  ["stripe", "a word anywhere: path, query, headers, body (any case)"],
  ['"card declined"', "a phrase"],
  ["method:post", "method"],
  ["status:5xx  status:404", "response status, a class or a code"],
  ["ip:203.0.113.7", "sender address"],
  ["path:/github", "text in the path"],
  ["event_type:push  delivery_id:…", "the provider's event type or delivery id"],
  ["signature:invalid", "valid, invalid, missing or unchecked"],
  ["header:X-GitHub-Event=push", "a header with that value (header:Name: present)"],
  ["body.data.object.status:paid", "a JSON body field's value"],
  ["a AND b   a b", "both"],
  ["a OR b", "either"],
  ["NOT a   -a", "not"],
  ["(a OR b) -c", "grouping"],
];

export function SearchHelp({ onExample }: { onExample: (q: string) => void }) {
  const [open, setOpen] = useState(false);
  const ref = useRef<HTMLSpanElement>(null);
  useEffect(() => {
    if (!open) return;
    const close = (e: Event) => {
      if (e instanceof KeyboardEvent ? e.key === "Escape" : !ref.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener("mousedown", close);
    document.addEventListener("keydown", close);
    return () => {
      document.removeEventListener("mousedown", close);
      document.removeEventListener("keydown", close);
    };
  }, [open]);
  return (
    <span class="search-help" ref={ref}>
      <button type="button" class="btn btn-small btn-ghost" onClick={() => setOpen(!open)} aria-expanded={open} aria-label="Search syntax" title="Search syntax" data-testid="search-help">
        ?
      </button>
      {open && (
        <div class="popover" role="dialog" aria-label="Search syntax" data-testid="search-help-popover">
          <p class="small">
            <b>Search syntax.</b> Terms combine with AND (or a space), OR, NOT; NOT binds tightest, then AND, then OR. Quote values with spaces:{" "}
            <code>header:User-Agent="Go http"</code>.
          </p>
          <table class="help-table">
            <tbody>
              {ROWS.map(([ex, what]) => (
                <tr key={ex}>
                  <td>
                    <code>{ex}</code>
                  </td>
                  <td class="muted small">{what}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p class="small muted">Try:</p>
          {["status:5xx -path:/health", "header:X-GitHub-Event=push body.action:opened", "(method:put OR method:delete) signature:invalid"].map((q) => (
            <button
              key={q}
              type="button"
              class="btn btn-small example"
              data-testid="search-example"
              onClick={() => {
                onExample(q);
                setOpen(false);
              }}
            >
              <code>{q}</code>
            </button>
          ))}
        </div>
      )}
    </span>
  );
}

// The fields of the search language (schema/search): a word with one of
// these prefixes is a condition, not text to highlight.
const FIELD = /^(method|status|ip|path|event_type|delivery_id|signature|header|body\.[^:]*):/i;

// highlightTerm is the text of q worth marking in the list and the body: a
// single bare word or quoted phrase (what matches as a substring); nothing
// for a query of fields or operators.
export function highlightTerm(q: string): string | undefined {
  const t = q.trim();
  if (/^"[^"\\]+"$/.test(t)) return t.slice(1, -1);
  if (!t || /[\s()"]/.test(t) || t.startsWith("-") || FIELD.test(t) || /^(AND|OR|NOT)$/.test(t)) return undefined;
  return t;
}
