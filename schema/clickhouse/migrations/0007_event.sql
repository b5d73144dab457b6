-- What a delivery says about itself and its retry chain (issue 17).
-- duplicate_of is the canonical text of the first request's id, '' when
-- none (a String reads the same on 18.16 and modern servers).
{{addColumn "requests" "event_type String DEFAULT ''" "cityHash64(bin_id)"}};
{{addColumn "requests" "delivery_id String DEFAULT ''" "cityHash64(bin_id)"}};
{{addColumn "requests" "attempt Int32 DEFAULT 0" "cityHash64(bin_id)"}};
{{addColumn "requests" "duplicate_of String DEFAULT ''" "cityHash64(bin_id)"}}
