-- Enforcement and redaction at ingest (issue 18): why a delivery was
-- refused ('' when accepted) and what was redacted (JSON, '' when nothing).
{{addColumn "requests" "refused_reason String DEFAULT ''" "cityHash64(bin_id)"}};
{{addColumn "requests" "redacted String DEFAULT ''" "cityHash64(bin_id)"}}
