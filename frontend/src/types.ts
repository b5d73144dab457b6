// Shapes of the hookscope API (see the OpenAPI description served at
// /api/v1/openapi.yaml). Everything captured is hostile: render as text only.

export type Header = [string, string];

export type SigStatus = "valid" | "invalid" | "missing" | "unchecked";

export interface Signature {
  scheme: string;
  status: SigStatus;
  reason: string;
}

export type ForwardState = "delivered" | "failed" | "retrying" | "skipped";

export interface ForwardAttempt {
  at: string;
  status: number; // 0: the target did not answer
  latency_us: number;
  error?: string;
}

export interface Forward {
  url: string;
  mode: string;
  status: number;
  latency_us: number;
  error?: string;
  state?: ForwardState; // absent on records from before states
  attempts?: ForwardAttempt[];
  next_at?: string;
  skipped?: string;
}

export interface RequestSummary {
  id: string;
  bin_id: string;
  received_at: string;
  method: string;
  path: string;
  query: string;
  headers: Header[];
  remote_ip: string;
  content_type: string;
  body_size: number;
  body_truncated: boolean;
  body_preview?: string;
  response_status: number;
  latency_us: number;
  signature?: Signature | null;
  delivery_lag_ms?: number | null;
  forward?: Forward | null;
  event_type?: string; // when the server extracts one (not every server does)
  replay_of?: string; // set on the record of a replay: the original's id
  refused_reason?: string; // the bin's enforcement refused it (401/403)
  redacted?: Redaction | null; // what capture replaced before storing it
  delivery_id?: string;
  attempt?: number;
  duplicate_of?: string | null;
}

export interface Redaction {
  headers?: string[];
  body_paths?: string[];
  body_dropped?: boolean;
}

// GET .../requests/{id}/attempts: a retry chain, oldest first.
export interface Attempts {
  delivery_id: string;
  truncated: boolean;
  attempts: (RequestSummary & { interval_ms: number | null })[];
}

// GET .../requests/{id}/diff?against=: what changed from "from" to "to".
export interface DiffEntry {
  name: string;
  op: "added" | "removed" | "changed";
  from?: unknown;
  to?: unknown;
}
export interface DiffSide {
  size: number;
  stored: number;
  truncated: boolean;
  sha256: string;
}
export interface RequestDiff {
  from: string;
  to: string;
  fields: Record<string, { from: unknown; to: unknown }>;
  headers: DiffEntry[];
  query: DiffEntry[];
  truncated: boolean;
  body: {
    kind: "same" | "json" | "text" | "binary";
    from: DiffSide;
    to: DiffSide;
    json?: DiffEntry[];
    lines?: { op: "equal" | "insert" | "delete"; lines: string[] }[];
    first_difference?: number;
    truncated: boolean;
  };
}

export interface Body {
  encoding: "utf8" | "base64";
  data: string;
}

export interface RequestFull extends RequestSummary {
  body?: Body;
}

export interface SignatureSettings {
  scheme: string;
  secret?: string;
  secret_hint?: string;
  tolerance?: string;
  header?: string;
  algorithm?: string;
  encoding?: string;
  prefix?: string;
  enforce?: boolean;
}

// FieldMatch is a rule condition: header/query by name, body_field by path;
// without value, present is enough.
export interface FieldMatch {
  name?: string;
  path?: string;
  value?: string;
}

export interface ResponseRule {
  method?: string;
  path_prefix?: string;
  header?: FieldMatch;
  query?: FieldMatch;
  body_field?: FieldMatch;
  status?: number;
  headers?: Header[];
  body?: string;
  delay_ms?: number;
}

export interface ResponseSettings {
  status?: number;
  headers?: Header[];
  body?: string;
  delay_ms?: number;
  rules?: ResponseRule[];
  cors?: boolean;
}

export interface RedactSettings {
  headers?: string[];
  body_paths?: string[];
  store_body?: boolean;
}

export interface RetentionSettings {
  max_age?: string;
  max_requests?: number;
}

export interface ForwardSettings {
  url: string;
  timeout?: string;
  mode?: string;
  retry?: { max_attempts?: number; initial?: string; max?: string } | null;
  filter?: string;
}

export interface BinSettings {
  signature?: SignatureSettings | null;
  response?: ResponseSettings | null;
  forward?: ForwardSettings | null;
  allow_cidrs?: string[] | null;
  redact?: RedactSettings | null;
  retention?: RetentionSettings | null;
}

export interface Bin {
  id: string;
  name: string;
  url?: string;
  created_at: string;
  expires_at: string | null;
  private?: boolean;
  settings?: BinSettings;
  token?: string;
  request_count?: number;
  refused_count?: number;
  last_request_at?: string; // the bin list only
}

export interface BinList {
  bins: Bin[];
  next: string | null;
  ignored: number;
}

export interface RequestPage {
  requests: RequestSummary[];
  next: string | null;
}

export interface Stats {
  total: number;
  by_status?: Record<string, number>;
  by_method?: Record<string, number>;
  by_signature?: Record<string, number>;
  latency_us?: { p50: number; p95: number; p99: number };
  // The forward target's latency (not hookscope's own), over the requests
  // forwarded whose target answered; replays are not counted.
  forwarded?: number;
  forward_latency_us?: { p50: number; p95: number; p99: number };
  series?: { t: string; count: number; p95_latency_us: number; forwarded?: number; p95_forward_latency_us?: number }[];
  top_senders?: { ip: string; count: number }[];
}

export interface AlertChannel {
  type: string;
  url?: string; // write-only
  routing_key?: string; // pagerduty, write-only
  to?: string[]; // email
  url_hint?: string;
}

export interface AlertRule {
  id: string;
  name: string;
  bin_id: string | null;
  kind: string;
  params: Record<string, unknown>;
  channels: AlertChannel[];
  cooldown?: string;
  enabled: boolean;
}

export interface AlertEvent {
  id: string;
  rule_id: string;
  bin_id: string;
  state: string;
  at: string;
  message?: string;
  [k: string]: unknown;
}

export interface Filters {
  q: string;
  method: string;
  status: string;
  signature: string;
  ip: string;
  since: string;
  until: string;
  replays: string; // "" (kept out, grouped under the original), "include" or "only"
}

export const emptyFilters: Filters = {
  q: "",
  method: "",
  status: "",
  signature: "",
  ip: "",
  since: "",
  until: "",
  replays: "",
};
