-- wrk script for hookscope's capture benchmark: a ~1 KB JSON POST with the
-- headers a Stripe delivery carries, and a machine-readable summary line.
-- The body and headers are built once; wrk reuses the same request.

local body = '{"id":"evt_1Pq2Rs3Tu4Vw5Xy6Za7Bc8De","object":"event","api_version":"2024-06-20",'
  .. '"created":1719400000,"type":"payment_intent.succeeded","livemode":false,'
  .. '"pending_webhooks":1,"request":{"id":"req_9Ab8Cd7Ef6Gh5I","idempotency_key":"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d"},'
  .. '"data":{"object":{"id":"pi_3Pq2Rs3Tu4Vw5Xy61AbCdEfG","object":"payment_intent","amount":2000,'
  .. '"amount_capturable":0,"amount_received":2000,"currency":"usd","customer":"cus_QwErTyUiOpAsDf",'
  .. '"description":"Order #1042","latest_charge":"ch_3Pq2Rs3Tu4Vw5Xy61HiJkLmN",'
  .. '"metadata":{"order_id":"1042","plan":"pro"},"payment_method":"pm_1Pq2Rs3Tu4Vw5Xy6OpQrStUv",'
  .. '"payment_method_types":["card"],"receipt_email":"jenny.rosen@example.com","status":"succeeded",'
  .. '"shipping":{"address":{"city":"San Francisco","country":"US","line1":"510 Townsend St",'
  .. '"postal_code":"94103","state":"CA"},"name":"Jenny Rosen"}}}}'
while #body < 1024 do
  body = body:sub(1, #body - 1) .. ',"pad":"' .. string.rep("x", 1024 - #body - 9) .. '"}'
end

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json; charset=utf-8"
wrk.headers["User-Agent"] = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
wrk.headers["Accept"] = "*/*; q=0.5, application/xml"
wrk.headers["Cache-Control"] = "no-cache"
wrk.headers["Stripe-Signature"] = "t=1719400000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd,v0=6ffbb59b2300aae63f272406069a9788598b792a944a07aba816edb039989a39"
wrk.headers["X-Request-Id"] = "8f14e45f-ceea-467e-a9b2-c4a5d6e7f801"
wrk.headers["Accept-Encoding"] = "gzip"
wrk.headers["X-Forwarded-Proto"] = "https"

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  local errs = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"non2xx":%d,"socket_errors":%d,' ..
    '"lat_mean_us":%.1f,"lat_p50_us":%d,"lat_p90_us":%d,"lat_p99_us":%d,"lat_max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, non2xx, errs,
    latency.mean, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
