import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";

// A fake browser: window timers and events, location, and a WebSocket that
// the test drives by hand.
class FakeWS {
  static all: FakeWS[] = [];
  static refuse = false;
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  closed = false;
  constructor(public url: string) {
    FakeWS.all.push(this);
    if (FakeWS.refuse) setTimeout(() => this.close(), 0);
  }
  open() {
    this.onopen?.();
  }
  send(m: unknown) {
    this.onmessage?.({ data: JSON.stringify(m) });
  }
  close() {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
  }
}

beforeEach(() => {
  vi.useFakeTimers();
  FakeWS.all = [];
  FakeWS.refuse = false;
  const g = globalThis as any;
  g.WebSocket = FakeWS;
  g.window = { setTimeout, clearTimeout, addEventListener() {}, removeEventListener() {} };
  g.location = { protocol: "http:", host: "hs.test" };
  g.localStorage = { getItem: () => null, setItem() {} };
  // The probe after a refused handshake: no answer unless a test gives one.
  g.fetch = () => new Promise(() => {});
});

afterEach(() => {
  vi.useRealTimers();
});

const req = (id: string) => ({ id, bin_id: "b", method: "POST", path: "/", headers: [] });

describe("LiveFeed", () => {
  test("alert frames go to onAlert; an alerts-only feed asks for only=alerts without filters or after=", async () => {
    const { LiveFeed } = await import("./live");
    const alerts: string[] = [];
    const reqs: string[] = [];
    const feed = new LiveFeed({
      bin: "b",
      filters: { method: "POST" },
      onlyAlerts: true,
      lastId: () => "0190-0001",
      onRequests: (rs) => reqs.push(...rs.map((r) => r.id)),
      onState: () => {},
      onAlert: (e) => alerts.push(`${e.state}:${e.id}`),
    });
    const u = new URL(FakeWS.all[0].url);
    expect(u.searchParams.get("only")).toBe("alerts");
    expect(u.searchParams.get("method")).toBeNull();
    expect(u.searchParams.get("after")).toBeNull();
    FakeWS.all[0].open();
    FakeWS.all[0].send({ type: "alert", alert: { id: "e1", rule_id: "r", bin_id: "b", state: "firing", at: "2026-01-01T00:00:00Z" } });
    FakeWS.all[0].send({ type: "alert", alert: { state: "firing" } }); // no id: ignored
    FakeWS.all[0].send({ type: "alert" });
    vi.advanceTimersByTime(60);
    expect(alerts).toEqual(["firing:e1"]);
    expect(reqs).toEqual([]);
    feed.close();
  });

  test("batches messages, resumes with after= on lagged and on close, stops on close()", async () => {
    const { LiveFeed } = await import("./live");
    const got: string[] = [];
    const states: string[] = [];
    let last = "0190-0001";
    const feed = new LiveFeed({
      bin: "b",
      filters: { method: "POST", q: "x y" },
      lastId: () => last,
      onRequests: (rs) => {
        got.push(...rs.map((r) => r.id));
        last = rs[rs.length - 1].id;
      },
      onState: (s) => states.push(s),
    });
    expect(FakeWS.all).toHaveLength(1);
    const u1 = new URL(FakeWS.all[0].url);
    expect(u1.protocol).toBe("ws:");
    expect(u1.pathname).toBe("/api/v1/bins/b/live");
    expect(u1.searchParams.get("after")).toBe("0190-0001");
    expect(u1.searchParams.get("method")).toBe("POST");
    expect(u1.searchParams.get("q")).toBe("x y");
    FakeWS.all[0].open();
    expect(states.at(-1)).toBe("live");

    FakeWS.all[0].send({ type: "request", request: req("0190-0002") });
    FakeWS.all[0].send({ type: "request", request: req("0190-0003") });
    FakeWS.all[0].send({ type: "nonsense" });
    expect(got).toEqual([]); // batched
    vi.advanceTimersByTime(60);
    expect(got).toEqual(["0190-0002", "0190-0003"]);

    // lagged: the feed delivers what it has, closes, and reconnects after the last id.
    FakeWS.all[0].send({ type: "request", request: req("0190-0004") });
    FakeWS.all[0].send({ type: "lagged" });
    expect(got).toEqual(["0190-0002", "0190-0003", "0190-0004"]);
    expect(FakeWS.all[0].closed).toBe(true);
    expect(states.at(-1)).toBe("reconnecting");
    vi.advanceTimersByTime(400);
    expect(FakeWS.all).toHaveLength(2);
    expect(new URL(FakeWS.all[1].url).searchParams.get("after")).toBe("0190-0004");

    // A dead server refuses every attempt: they back off (250 ms doubling,
    // capped at 3 s, ±20%), so 10 s see a handful, not a tight loop.
    FakeWS.all[1].open();
    FakeWS.refuse = true;
    FakeWS.all[1].close();
    vi.advanceTimersByTime(10_000);
    const attempts = FakeWS.all.length - 2;
    expect(attempts).toBeGreaterThanOrEqual(4);
    expect(attempts).toBeLessThanOrEqual(8);
    // The server is back: the next attempt connects, and still resumes after the last id.
    FakeWS.refuse = false;
    vi.advanceTimersByTime(4000);
    const back = FakeWS.all.at(-1)!;
    back.open();
    expect(states.at(-1)).toBe("live");
    expect(new URL(back.url).searchParams.get("after")).toBe("0190-0004");

    feed.close();
    const n = FakeWS.all.length;
    vi.advanceTimersByTime(60_000);
    expect(FakeWS.all.length).toBe(n);
    expect(states.at(-1)).toBe("off");
  });

  test("a refused handshake is explained by one plain GET, and Retry-After holds reconnects back", async () => {
    const { LiveFeed } = await import("./live");
    const probes: { url: string; init: any }[] = [];
    (globalThis as any).fetch = async (url: string, init: any) => {
      probes.push({ url, init });
      return {
        status: 429,
        headers: { get: (h: string) => (h === "Retry-After" ? "7" : null) },
        json: async () => ({ error: "too many live feeds open from your address (limit 1); close one", limit: "live_per_ip" }),
      };
    };
    const refusals: any[] = [];
    const feed = new LiveFeed({
      bin: "b",
      filters: {},
      lastId: () => undefined,
      onRequests: () => {},
      onState: () => {},
      onRefused: (r) => refusals.push(r),
    });
    FakeWS.all[0].close(); // never opened
    await vi.advanceTimersByTimeAsync(0);
    expect(probes).toHaveLength(1);
    expect(probes[0].url).toBe("http://hs.test/api/v1/bins/b/live");
    expect(refusals).toEqual([{ message: "too many live feeds open from your address (limit 1); close one", status: 429, retryMs: 7000 }]);
    // Not the usual 250 ms backoff: nothing before 7 s, one attempt after.
    await vi.advanceTimersByTimeAsync(6900);
    expect(FakeWS.all).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(200);
    expect(FakeWS.all).toHaveLength(2);
    FakeWS.all[1].open();
    expect(refusals.at(-1)).toBeNull();
    // A feed that opened and then dropped is not probed.
    FakeWS.all[1].close();
    await vi.advanceTimersByTimeAsync(0);
    expect(probes).toHaveLength(1);
    feed.close();
  });
});
