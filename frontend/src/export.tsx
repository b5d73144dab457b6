import { useState } from "preact/hooks";
import { filterParams } from "./api";
import { tokenFor } from "./storage";
import type { Filters } from "./types";

// exportURL is the download link of the bin's requests matching the list's
// filters (GET /api/v1/bins/{bin}/export). A link rather than a fetch: the
// browser streams the file to disk, however large. A private bin's token
// goes in ?token= (a link cannot carry a header).
export function exportURL(bin: string, filters: Partial<Filters>, format: string): string {
  const p = filterParams(filters);
  p.set("format", format);
  const tok = tokenFor(bin);
  if (tok) p.set("token", tok);
  return `/api/v1/bins/${encodeURIComponent(bin)}/export?${p}`;
}

const FORMATS: [string, string][] = [
  ["ndjson", "NDJSON"],
  ["har", "HAR"],
  ["csv", "CSV"],
];

// ExportButton downloads what the list shows (its filters applied), in
// the chosen format.
export function ExportButton({ bin, filters }: { bin: string; filters: Filters }) {
  const [format, setFormat] = useState("ndjson");
  return (
    <span class="export" data-testid="export">
      <select value={format} onChange={(e) => setFormat(e.currentTarget.value)} aria-label="Export format" data-testid="export-format">
        {FORMATS.map(([v, label]) => (
          <option key={v} value={v}>
            {label}
          </option>
        ))}
      </select>
      <a class="btn btn-small" href={exportURL(bin, filters, format)} download data-testid="export-link" title="Download the requests matching the filters">
        Export
      </a>
    </span>
  );
}
