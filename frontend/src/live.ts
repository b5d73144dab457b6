import { liveURL } from "./api";
import type { AlertEvent, Filters, RequestSummary } from "./types";

export type LiveState = "connecting" | "live" | "reconnecting" | "off";

export interface LiveOptions {
  bin: string;
  filters: Partial<Filters>;
  // The newest request id the page has; the server first sends what came after it.
  lastId: () => string | undefined;
  onRequests: (rs: RequestSummary[]) => void;
  onState: (s: LiveState) => void;
  // An alert event of the bin was recorded (every feed of the bin gets
  // them, whatever its filters).
  onAlert?: (e: AlertEvent) => void;
  // Alert events only: no requests, no backlog (the tabs other than
  // Requests keep such a feed for the Alerts tab's dot).
  onlyAlerts?: boolean;
  // Why the server refused the feed (a quota, a revoked token...), with the
  // delay before the next attempt; null once a feed opens again.
  onRefused?: (r: LiveRefusal | null) => void;
}

export interface LiveRefusal {
  message: string;
  status: number;
  retryMs: number;
}

// The longest a server's Retry-After may hold reconnects back.
const maxRetryMs = 5 * 60_000;

// A websocket that reconnects forever with backoff and resumes with
// after=<last id seen>, so nothing is lost or shown twice across restarts.
export class LiveFeed {
  private ws: WebSocket | null = null;
  private timer: number | undefined;
  private flushTimer: number | undefined;
  private pending: RequestSummary[] = [];
  private attempt = 0;
  private closed = false;
  private refused = false;

  constructor(private o: LiveOptions) {
    this.connect();
    window.addEventListener("online", this.kick);
  }

  private kick = () => {
    if (!this.ws && !this.closed) {
      clearTimeout(this.timer);
      this.connect();
    }
  };

  private connect() {
    if (this.closed) return;
    this.o.onState(this.attempt === 0 ? "connecting" : "reconnecting");
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.o.onlyAlerts ? liveURL(this.o.bin, {}, undefined, true) : liveURL(this.o.bin, this.o.filters, this.o.lastId()));
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    let opened = false;
    ws.onopen = () => {
      opened = true;
      this.attempt = 0;
      this.o.onState("live");
      if (this.refused) {
        this.refused = false;
        this.o.onRefused?.(null);
      }
    };
    ws.onmessage = (ev) => {
      let m: any;
      try {
        m = JSON.parse(typeof ev.data === "string" ? ev.data : "");
      } catch {
        return;
      }
      if (m && m.type === "request" && m.request && typeof m.request.id === "string") {
        this.pending.push(m.request as RequestSummary);
        // Batch bursts into one render per frame-ish.
        if (this.flushTimer === undefined) this.flushTimer = window.setTimeout(this.flush, 50);
      } else if (m && m.type === "alert" && m.alert && typeof m.alert.id === "string" && typeof m.alert.state === "string") {
        this.o.onAlert?.(m.alert as AlertEvent);
      } else if (m && m.type === "lagged") {
        // The server dropped us; reconnect right away with after=.
        this.flush();
        ws.close();
      }
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.flush();
      this.ws = null;
      this.retry();
      if (!opened) this.probe(ws.url);
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  // A browser cannot read why a websocket handshake failed, so after a feed
  // that never opened, one plain GET of the same URL (token in the query,
  // as the websocket sent it) gets the answer the handshake got: a 4xx with
  // a JSON error (429 + Retry-After for a quota) is shown, and the next
  // attempt waits for Retry-After. 426 means the feed would be accepted now.
  private async probe(wsURL: string) {
    if (typeof fetch !== "function") return;
    const timer = this.timer;
    let res: Response;
    let data: any;
    try {
      res = await fetch(wsURL.replace(/^ws/, "http"), { headers: { Accept: "application/json" } });
      data = await res.json().catch(() => undefined);
    } catch {
      return; // the server is unreachable: the backoff already runs
    }
    // Stale: closed, or another attempt started meanwhile.
    if (this.closed || this.ws || this.timer !== timer) return;
    if (res.status < 400 || res.status >= 500 || res.status === 426) return;
    if (!data || typeof data.error !== "string") return;
    let retryMs = 0;
    const ra = Number(res.headers.get("Retry-After"));
    if (Number.isFinite(ra) && ra > 0) retryMs = Math.min(ra * 1000, maxRetryMs);
    if (retryMs > 0) {
      clearTimeout(this.timer);
      this.timer = window.setTimeout(() => this.connect(), retryMs);
    }
    this.refused = true;
    this.o.onRefused?.({ message: data.error, status: res.status, retryMs });
  }

  private flush = () => {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.o.onRequests(batch);
  };

  private retry() {
    if (this.closed) return;
    this.o.onState("reconnecting");
    const delay = Math.min(250 * 2 ** this.attempt, 3000) * (0.8 + Math.random() * 0.4);
    this.attempt++;
    this.timer = window.setTimeout(() => this.connect(), delay);
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.flushTimer);
    window.removeEventListener("online", this.kick);
    const ws = this.ws;
    this.ws = null;
    if (ws) ws.close();
    this.o.onState("off");
  }
}
