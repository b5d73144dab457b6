import { useEffect, useReducer, useState } from "preact/hooks";
import { api } from "./api";
import type { AlertChannel, AlertEvent, AlertRule, Bin } from "./types";
import { relTime } from "./format";
import { toast, useNow } from "./ui";
import { binPath, navigate } from "./router";

// Defaults as the alert engine documents them (alerts/README.md).
const KINDS: Record<string, { label: string; params: Record<string, string | number>; help: string }> = {
  failure_spike: { label: "Failure spike", params: { window: "5m", min_count: 10, threshold: 0.5 }, help: "threshold: share of failed deliveries (non-2xx answers, failed forwards)" },
  signature_failures: { label: "Signature failures", params: { window: "5m", min_count: 5, threshold: 0.5 }, help: "threshold: share of checked requests with an invalid or missing signature" },
  volume_anomaly: { label: "Volume anomaly", params: { window: "5m", min_count: 10, threshold: 0.5, sensitivity: "medium" }, help: "threshold: minimum relative change from the baseline; sensitivity low, medium or high" },
  suspicious_sender: { label: "Suspicious sender", params: { window: "10m", min_count: 5, threshold: 0.5 }, help: "new IPs failing signatures, one IP over its share (threshold), unusual user agents" },
  latency_spike: { label: "Latency spike", params: { window: "5m", min_count: 20, threshold: 0, percentile: 95 }, help: "threshold in ms; 0 compares with the bin's own baseline" },
};
const STRING_PARAMS = new Set(["window", "sensitivity", "latency"]);

// The panel re-reads rules and events when tick changes: the live connection
// pushed an alert event of the bin, or reconnected (bin.tsx). No polling.
export function AlertsPanel({ bin, readOnly = false, tick: pushed = 0 }: { bin: Bin; readOnly?: boolean; tick?: number }) {
  const [rules, setRules] = useState<AlertRule[] | null>(null);
  const [events, setEvents] = useState<AlertEvent[]>([]);
  const [err, setErr] = useState("");
  const [tick, reload] = useReducer((x: number, _a: void) => x + 1, 0);
  const now = useNow(15000);

  useEffect(() => {
    let stop = false;
    Promise.all([api.alertRules(bin.id), api.alertEvents(bin.id).catch(() => [] as AlertEvent[])])
      .then(([r, e]) => {
        if (stop) return;
        setRules(r);
        setEvents(e);
        setErr("");
      })
      .catch((e) => !stop && setErr(e.status === 404 ? "Alerting is not available on this server." : e.message));
    return () => {
      stop = true;
    };
  }, [bin.id, tick, pushed]);

  return (
    <div class="panel alerts" data-testid="alerts">
      <section class="card">
        <h2>Recent alert events</h2>
        {events.length === 0 ? (
          <p class="muted">No alerts yet for this bin.</p>
        ) : (
          <ul class="events">
            {events.slice(0, 100).map((e) => (
              <li key={e.id} class={`event event-${e.state}`}>
                <span class={`pill state-${e.state}`}>{e.state}</span>
                <span class="small muted" title={e.at}>
                  {relTime(e.at, now)}
                </span>
                {typeof e.severity === "string" && e.severity && <span class={`pill sev-${e.severity}`}>{e.severity}</span>}
                <span class="event-msg">{String(e.summary || e.message || e.rule_name || rules?.find((r) => r.id === e.rule_id)?.name || e.rule_id)}</span>
                {typeof e.error === "string" && e.error && (
                  <span class="err small">
                    {e.state === "notify_failed" ? `${String(e.channel || "channel")} ${String(e.url_hint || "")} failed` : "error"}: {e.error}
                  </span>
                )}
                {Array.isArray(e.sample_request_ids) && e.sample_request_ids.length > 0 && (
                  <span class="small samples">
                    samples:{" "}
                    {(e.sample_request_ids as string[]).slice(0, 5).map((id) => (
                      <a key={id} class="mono" href={binPath(bin.id, `/requests/${encodeURIComponent(id)}`)} onClick={(ev) => (ev.preventDefault(), navigate(binPath(bin.id, `/requests/${encodeURIComponent(id)}`)))}>
                        {id.slice(-6)}
                      </a>
                    ))}
                  </span>
                )}
              </li>
            ))}
          </ul>
        )}
      </section>
      <section class="card">
        <div class="section-head tight">
          <h2>Alert rules for this bin</h2>
          {!readOnly && !err && rules && !rules.some((r) => r.bin_id === bin.id) && <DefaultsButton bin={bin} onDone={reload} />}
        </div>
        {err && <p class="err">{err}</p>}
        {rules && rules.length === 0 && <p class="muted">No rules yet. Turn on the defaults (one rule of each kind) or add one below; each channel gets one message per episode.</p>}
        {rules && rules.length > 0 && (
          <table class="table rules-table" data-testid="rules-table">
            <thead>
              <tr>
                <th>Name</th>
                <th>Kind</th>
                <th>Params</th>
                <th>Channels</th>
                <th>On</th>
                {!readOnly && <th />}
              </tr>
            </thead>
            <tbody>
              {rules.map((r) => (
                <tr key={r.id}>
                  <td data-label="Name" class="rule-name">
                    {r.name}
                    {r.bin_id == null && <span class="pill">all bins</span>}
                  </td>
                  <td data-label="Kind">{KINDS[r.kind]?.label || r.kind}</td>
                  <td data-label="Params" class="mono small">
                    {Object.entries(r.params || {})
                      .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`)
                      .join(" ")}
                  </td>
                  <td data-label="Channels" class="small">{(r.channels || []).map((c) => `${c.type}${c.url_hint ? " " + c.url_hint : ""}`).join(", ") || "-"}</td>
                  <td data-label="On" class="rule-on">
                    <input
                      type="checkbox"
                      checked={r.enabled}
                      disabled={readOnly}
                      aria-label="Enabled"
                      onChange={async (e) => {
                        try {
                          await api.patchRule(bin.id, r.id, { enabled: e.currentTarget.checked });
                          reload();
                        } catch (er: any) {
                          toast(er.message, "err");
                        }
                      }}
                    />
                  </td>
                  {!readOnly && <td class="nowrap rule-actions">
                    <button
                      type="button"
                      class="btn btn-small"
                      onClick={async () => {
                        try {
                          await api.testRule(bin.id, r.id);
                          toast("Test notification sent");
                        } catch (er: any) {
                          toast(`Test failed: ${er.message}`, "err");
                        }
                      }}
                    >
                      Test
                    </button>{" "}
                    <button
                      type="button"
                      class="btn btn-small btn-ghost"
                      aria-label="Delete rule"
                      onClick={async () => {
                        if (!confirm(`Delete rule "${r.name}"?`)) return;
                        try {
                          await api.deleteRule(bin.id, r.id);
                          reload();
                        } catch (er: any) {
                          toast(er.message, "err");
                        }
                      }}
                    >
                      ✕
                    </button>
                  </td>}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {!readOnly && <NewRule bin={bin} onCreated={reload} />}
    </div>
  );
}

// CHANNELS are the notifiers the server knows (alerts.ChannelTypes) and what
// each needs: a URL, PagerDuty's routing key, or e-mail recipients.
const CHANNELS: Record<string, { label: string; field: string; placeholder: string; kind: "url" | "routing_key" | "to" }> = {
  slack: { label: "Slack incoming webhook", field: "URL (write-only)", placeholder: "https://hooks.slack.com/services/…", kind: "url" },
  webhook: { label: "JSON webhook", field: "URL (write-only)", placeholder: "https://example.com/alerts", kind: "url" },
  discord: { label: "Discord webhook", field: "URL (write-only)", placeholder: "https://discord.com/api/webhooks/…", kind: "url" },
  teams: { label: "Microsoft Teams workflow", field: "URL (write-only)", placeholder: "https://….logic.azure.com/workflows/…", kind: "url" },
  pagerduty: { label: "PagerDuty Events v2", field: "Routing key (write-only)", placeholder: "32-character integration key", kind: "routing_key" },
  email: { label: "E-mail (server's SMTP)", field: "Recipients, comma-separated", placeholder: "oncall@example.com, dev@example.com", kind: "to" },
};

function channelOf(type: string, dest: string): AlertChannel {
  switch (CHANNELS[type]?.kind) {
    case "routing_key":
      return { type, routing_key: dest };
    case "to":
      return {
        type,
        to: dest
          .split(",")
          .map((x) => x.trim())
          .filter(Boolean),
      };
    default:
      return { type, url: dest };
  }
}

function NewRule({ bin, onCreated }: { bin: Bin; onCreated: () => void }) {
  const [kind, setKind] = useState("failure_spike");
  const [name, setName] = useState("");
  const [params, setParams] = useState<Record<string, string | number>>(KINDS.failure_spike.params);
  const [chType, setChType] = useState("slack");
  const [chUrl, setChUrl] = useState("");
  const [cooldown, setCooldown] = useState("10m");
  return (
    <form
      class="card newrule"
      onSubmit={async (e) => {
        e.preventDefault();
        const p: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(params)) p[k] = STRING_PARAMS.has(k) ? String(v) : Number(v);
        try {
          await api.createRule(bin.id, {
            name: name.trim() || KINDS[kind].label,
            bin_id: bin.id,
            kind,
            params: p,
            channels: chUrl.trim() ? [channelOf(chType, chUrl.trim())] : [],
            cooldown,
            enabled: true,
          });
          setName("");
          setChUrl("");
          toast("Rule created");
          onCreated();
        } catch (er: any) {
          toast(`Could not create the rule: ${er.message}`, "err");
        }
      }}
    >
      <h2>New rule</h2>
      <div class="grid3">
        <label>
          Kind
          <select
            value={kind}
            onChange={(e) => {
              setKind(e.currentTarget.value);
              setParams(KINDS[e.currentTarget.value].params);
            }}
          >
            {Object.entries(KINDS).map(([k, v]) => (
              <option key={k} value={k}>
                {v.label}
              </option>
            ))}
          </select>
        </label>
        <label>
          Name
          <input value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder={KINDS[kind].label} />
        </label>
        <label>
          Cooldown
          <input value={cooldown} onInput={(e) => setCooldown(e.currentTarget.value)} />
        </label>
      </div>
      <p class="muted small">{KINDS[kind].help}</p>
      <div class="grid3">
        {Object.entries(params).map(([k, v]) => (
          <label key={k}>
            {k}
            <input value={String(v)} onInput={(e) => setParams({ ...params, [k]: e.currentTarget.value })} />
          </label>
        ))}
      </div>
      <div class="grid3">
        <label>
          Channel
          <select name="channel_type" value={chType} onChange={(e) => setChType(e.currentTarget.value)}>
            {Object.entries(CHANNELS).map(([k, v]) => (
              <option key={k} value={k}>
                {v.label}
              </option>
            ))}
          </select>
        </label>
        <label class="span2">
          {CHANNELS[chType].field}
          {CHANNELS[chType].kind === "url" ? (
            <input name="channel_dest" type="url" value={chUrl} onInput={(e) => setChUrl(e.currentTarget.value)} placeholder={CHANNELS[chType].placeholder} />
          ) : (
            <input name="channel_dest" value={chUrl} onInput={(e) => setChUrl(e.currentTarget.value)} placeholder={CHANNELS[chType].placeholder} />
          )}
        </label>
      </div>
      <button type="submit" class="btn btn-primary">
        Create rule
      </button>
    </form>
  );
}

function DefaultsButton({ bin, onDone }: { bin: Bin; onDone: () => void }) {
  const [url, setUrl] = useState("");
  const [open, setOpen] = useState(false);
  if (!open)
    return (
      <button type="button" class="btn btn-small btn-primary" onClick={() => setOpen(true)} data-testid="enable-defaults">
        Enable default alerts
      </button>
    );
  return (
    <form
      class="open-form"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await api.enableDefaultAlerts(bin.id, url.trim() ? [{ type: url.includes("hooks.slack.com") ? "slack" : "webhook", url: url.trim() }] : []);
          toast("Default alert rules enabled");
          setOpen(false);
          onDone();
        } catch (er: any) {
          toast(`Could not enable defaults: ${er.message}`, "err");
        }
      }}
    >
      <input type="url" value={url} onInput={(e) => setUrl(e.currentTarget.value)} placeholder="Slack or webhook URL (optional)" aria-label="Channel URL" />
      <button class="btn btn-small btn-primary" type="submit">
        Enable
      </button>
    </form>
  );
}
