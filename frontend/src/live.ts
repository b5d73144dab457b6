import { liveURL } from "./api";
import type { Filters, RequestSummary } from "./types";

export type LiveState = "connecting" | "live" | "reconnecting" | "off";

export interface LiveOptions {
  bin: string;
  filters: Partial<Filters>;
  // The newest request id the page has; the server first sends what came after it.
  lastId: () => string | undefined;
  onRequests: (rs: RequestSummary[]) => void;
  onState: (s: LiveState) => void;
}

// A websocket that reconnects forever with backoff and resumes with
// after=<last id seen>, so nothing is lost or shown twice across restarts.
export class LiveFeed {
  private ws: WebSocket | null = null;
  private timer: number | undefined;
  private flushTimer: number | undefined;
  private pending: RequestSummary[] = [];
  private attempt = 0;
  private closed = false;

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
      ws = new WebSocket(liveURL(this.o.bin, this.o.filters, this.o.lastId()));
    } catch {
      this.retry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.o.onState("live");
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
    };
    ws.onerror = () => {
      /* onclose follows */
    };
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
