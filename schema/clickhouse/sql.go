// The store's SQL as named constants (the DDL is in migrations/*.sql).

package clickhouse

import "strings"

// requestColumns is the column list of every insert into and full read of
// requests, in the order of appendRow and scanRow. Naming the columns is
// required by 18.16 (a bare INSERT INTO t gets an empty column block).
const requestColumns = `bin_id, received_us, id, ingest_us, method, path, query,
	header_names, header_values, remote_ip, content_type, body_size, body_truncated,
	body_head, body_tail, response_status, latency_us, sig_scheme, sig_status, sig_reason,
	delivery_lag_ms, has_forward, fwd_url, fwd_mode, fwd_status, fwd_latency_us, fwd_error, aborted,
	event_type, delivery_id, attempt, duplicate_of, refused_reason, redacted, fwd_state, fwd_detail`

const sqlInsertRequests = `INSERT INTO requests (` + requestColumns + `)`

// summaryColumns is requestColumns without body_tail: a list page only needs
// the first PreviewBytes of the body, which is exactly body_head.
var summaryColumns = strings.Replace(requestColumns, "body_head, body_tail,", "body_head, '',", 1)

// existingIDsMax bounds how many ids one existence check sends: the query
// text (34 bytes an id) must stay under the server's max_query_size (256 KiB).
const existingIDsMax = 4000

// The SQL of the store. Values are always bound arguments (?); the only
// text spliced in (with fmt.Sprintf, %s) is WHERE clauses built by query
// from constant conditions, and ASC/DESC.

// Writer: which ids of a batch are stored already (see existingIDs).
const (
	// sqlIDsInRange reads every id in the batch's bins and time range.
	sqlIDsInRange = `SELECT id FROM requests
	WHERE bin_id IN ? AND received_us >= ? AND received_us <= ? LIMIT ?`
	// sqlIDsAmong looks the batch's ids up when that range holds too many.
	sqlIDsAmong = `SELECT id FROM requests
	WHERE bin_id IN ? AND received_us >= ? AND received_us <= ? AND hex(id) IN ?`
)

// Reader.
const (
	// sqlPageKeys: %s the WHERE clause, %s the order (ASC or DESC) twice.
	sqlPageKeys = `SELECT received_us, id FROM requests WHERE %[1]s
	ORDER BY received_us %[2]s, id %[2]s LIMIT ?`
	// sqlGetRequest is followed by the WHERE clause and LIMIT 1.
	sqlGetRequest = `SELECT ` + requestColumns + ` FROM requests WHERE `
	// sqlCountRequests is followed by the WHERE clause.
	sqlCountRequests = `SELECT count() FROM requests WHERE `
	// sqlCountMatching is followed by the WHERE clause and LIMIT ?): a
	// count that stops reading at the limit.
	sqlCountMatching = `SELECT count() FROM (SELECT 1 FROM requests WHERE `
	// sqlTombstones reads the tombstones of one bin.
	sqlTombstones = `SELECT cut_ingest_us, upto_us, upto_id FROM request_tombstones WHERE bin_id = ?`
)

// sqlPageRows reads the summary columns of a page's keys in the key range
// they span (the second step of ListRequests).
var sqlPageRows = `SELECT ` + summaryColumns + ` FROM requests
	WHERE bin_id = ? AND received_us >= ? AND received_us <= ? AND hex(id) IN ?
	LIMIT 1 BY id`

// Query building: conditions query.add combines.
const (
	// condNotTrimmed hides what one trim tombstone reaches:
	// args cut, upto, upto, upto id.
	condNotTrimmed = `NOT (ingest_us <= ? AND (received_us < ? OR (received_us = ? AND id <= UUIDStringToNum(?))))`
	// condTextSearch is q= over path, query, headers and the two stored
	// halves of the body (six times the needle); binQuery closes it, after
	// condTextSearchCut when the needle can straddle the cut.
	condTextSearch = `(positionCaseInsensitive(path, ?) > 0
	OR positionCaseInsensitive(query, ?) > 0
	OR arrayExists(x -> positionCaseInsensitive(x, ?) > 0, header_names)
	OR arrayExists(x -> positionCaseInsensitive(x, ?) > 0, header_values)
	OR positionCaseInsensitive(body_head, ?) > 0
	OR positionCaseInsensitive(body_tail, ?) > 0`
	// condTextSearchCut matches across the head/tail cut: args the offset
	// into the head, the bytes of the tail, the needle.
	condTextSearchCut = `
	OR (body_tail != '' AND positionCaseInsensitive(concat(substring(body_head, ?), substring(body_tail, 1, ?)), ?) > 0)`
)

// sqlSearchExpr is the expression of the idx_search skip index (migration
// 0010, which spells it out the same way; a test checks): every field q=
// searches, ASCII lower-cased like positionCaseInsensitive compares.
const sqlSearchExpr = `lower(concat(path, '\n', query, '\n', arrayStringConcat(header_names, '\n'), '\n', arrayStringConcat(header_values, '\n'), '\n', body_head, body_tail))`

// condSearchIndex is a necessary condition of condTextSearch that the
// index can answer (LIKE on the indexed expression): a granule whose n-gram
// filter lacks the needle is skipped. Arg: %needle% lower-cased, escaped.
const condSearchIndex = sqlSearchExpr + ` LIKE ?`

// sqlHasSearchIndex tells whether the requests table has idx_search.
const sqlHasSearchIndex = `SELECT count() FROM system.data_skipping_indices WHERE database = ? AND table = ? AND name = 'idx_search'`

// Stats: each statement unites the rollup buckets (%[1]s, the rollup WHERE
// clause) with a scan of the rest of the range in requests (%[2]s).
const (
	sqlStatsBreakdown = `SELECT response_status, method, sig_status, sum(requests)
	FROM request_counts_5m WHERE %[1]s GROUP BY response_status, method, sig_status
	UNION ALL
	SELECT response_status, method, sig_status, count()
	FROM requests WHERE %[2]s GROUP BY response_status, method, sig_status`

	// sqlStatsSeries: %[3]s is "" or " WITH TOTALS". The rollup rows go to
	// the outer GROUP BY as they are (merging them per bucket in the inner
	// query too costs twice the merge).
	sqlStatsSeries = `SELECT t, countMerge(n), quantilesMerge(0.5, 0.95, 0.99)(q) FROM (
		SELECT intDiv(bucket_us, ?) * ? AS t, requests AS n, latency_us AS q
		FROM request_latency_5m WHERE %[1]s
		UNION ALL
		SELECT intDiv(received_us, ?) * ? AS t, countState() AS n, quantilesState(0.5, 0.95, 0.99)(latency_us) AS q
		FROM requests WHERE %[2]s GROUP BY t)
	GROUP BY t%[3]s ORDER BY t`

	sqlStatsPercentiles = `SELECT quantilesMerge(0.5, 0.95, 0.99)(q) FROM (
		SELECT latency_us AS q FROM request_latency_5m WHERE %[1]s
		UNION ALL
		SELECT quantilesState(0.5, 0.95, 0.99)(latency_us) AS q FROM requests WHERE %[2]s)`

	sqlStatsSenders = `SELECT remote_ip, sum(n) AS c FROM (
		SELECT remote_ip, sum(requests) AS n FROM request_counts_5m WHERE %[1]s GROUP BY remote_ip
		UNION ALL
		SELECT remote_ip, count() AS n FROM requests WHERE %[2]s GROUP BY remote_ip)
	GROUP BY remote_ip ORDER BY c DESC, remote_ip ASC LIMIT 10`
)

// sqlStatsForward: the forward target's latency per bucket and over the
// range (WITH TOTALS) of the requests forwarded (not replayed) whose target
// answered; %s is the WHERE clause (bin, range, tombstones); the arguments
// start with the step twice. The rollups do not carry it: it scans
// requests, three narrow columns along the primary key.
const sqlStatsForward = `SELECT intDiv(received_us, ?) * ? AS t, count(), quantiles(0.5, 0.95, 0.99)(fwd_latency_us)
	FROM requests WHERE %s AND has_forward = 1 AND fwd_mode != 'replay' AND fwd_status > 0
	GROUP BY t WITH TOTALS ORDER BY t`

// sqlCountWhere is followed by a WHERE clause.
const sqlCountWhere = `SELECT count() FROM requests WHERE `

// sqlStatsEventTypes is followed by the WHERE clause and GROUP BY.
const sqlStatsEventTypes = `SELECT event_type, count() FROM requests WHERE `

// Retention: tombstones hide at once, mutations remove in the background.
const (
	sqlInsertTombstone = `INSERT INTO request_tombstones (bin_id, cut_ingest_us, upto_us, upto_id, created_us)`
	// sqlDeleteBinsMutation removes what the whole-bin tombstones hide;
	// %s is the table (Store.alterTable).
	sqlDeleteBinsMutation = `ALTER TABLE %s DELETE WHERE bin_id IN ? AND ingest_us <= ?`
	// sqlTrimCut finds the newest request a trim drops: %s the WHERE
	// clause; the argument after its own is how many to keep.
	sqlTrimCut = `SELECT received_us, id FROM requests WHERE %s
	ORDER BY received_us DESC, id DESC LIMIT ?, 1`
	// condUpTo is "at or before the key (upto, upto, upto id)".
	condUpTo = `(received_us < ? OR (received_us = ? AND id <= UUIDStringToNum(?)))`
	// sqlCountTrimmedOnDisk counts the rows a trim tombstone hides:
	// args bin, cut, then condUpTo's.
	sqlCountTrimmedOnDisk = `SELECT count() FROM requests WHERE bin_id = ? AND ingest_us <= ? AND ` + condUpTo
	// sqlTrimMutation removes them; %s is the table (Store.alterTable).
	sqlTrimMutation = `ALTER TABLE %s DELETE WHERE bin_id = ? AND ingest_us <= ? AND ` + condUpTo
	// sqlPartitions lists the active partitions of a table.
	sqlPartitions = `SELECT DISTINCT partition FROM system.parts WHERE database = ? AND table = ? AND active`
	// sqlClusterDays lists the days (partitions) of requests before a
	// cutoff on every shard: a node's system.parts knows only its own.
	// Partition pruning reads only the old days.
	sqlClusterDays = `SELECT DISTINCT toString(toYYYYMMDD(toDateTime(intDiv(received_us, 1000000), 'UTC')))
	FROM requests WHERE received_us < ?`
)
