import { describe, expect, test } from "vitest";
import { boundaryOf, isoToLocal, localToISO, providerOf, splitHits, jsonPath, decodeUTF8, displayPath, uuid7Time, formatLatency, formatSize, hexDump, insertIndex, joinURL, looksLikeXML, parseMultipart, parseQuery, prettyXML, shq, toCurl } from "./format";
import { parseRoute } from "./router";

describe("formatSize", () => {
  test.each([
    [0, "0 B"],
    [1023, "1023 B"],
    [1024, "1.0 KB"],
    [10 * 1024 * 1024, "10 MB"],
    [1536, "1.5 KB"],
    [-1, "-"],
  ])("%d → %s", (n, want) => expect(formatSize(n)).toBe(want));
});

describe("formatLatency", () => {
  test.each([
    [420, "420 µs"],
    [4380, "4.38 ms"],
    [12_500, "12.5 ms"],
    [2_000_000, "2.00 s"],
    [null, "-"],
  ])("%s → %s", (us, want) => expect(formatLatency(us as number | null)).toBe(want));
});

describe("shell quoting and curl", () => {
  test("single quotes are escaped so the command cannot break out", () => {
    expect(shq(`it's $(rm -rf /)`)).toBe(`'it'\\''s $(rm -rf /)'`);
  });
  test("curl drops hop-by-hop headers and keeps duplicates in order", () => {
    const c = toCurl({
      method: "POST",
      url: "http://h/h/b/x?y=1",
      headers: [["Host", "h"], ["Content-Length", "2"], ["X-A", "1"], ["X-A", "2"]],
      body: `{"a":"it's"}`,
    });
    expect(c).toBe(`curl -X 'POST' 'http://h/h/b/x?y=1' -H 'X-A: 1' -H 'X-A: 2' --data-binary '{"a":"it'\\''s"}'`);
  });
  test("binary bodies point at a file", () => {
    expect(toCurl({ method: "PUT", url: "u", headers: [], binary: true })).toBe(`curl -X 'PUT' 'u' --data-binary @body.bin`);
  });
  test("GET without a body has no -X", () => {
    expect(toCurl({ method: "GET", url: "u", headers: [] })).toBe(`curl 'u'`);
  });
});

describe("joinURL and parseQuery", () => {
  test.each([
    ["http://x/h/b", "/", "", "http://x/h/b"],
    ["http://x/h/b/", "/a/b", "q=1", "http://x/h/b/a/b?q=1"],
    ["http://x/h/b", "a", "", "http://x/h/b/a"],
  ])("%s + %s + %s", (b, p, q, want) => expect(joinURL(b, p, q)).toBe(want));
  test("decodes, keeps duplicates and bad escapes", () => {
    expect(parseQuery("a=1&a=2&b=hello+world&c&d=%E2%82%AC&e=%ZZ")).toEqual([
      ["a", "1"],
      ["a", "2"],
      ["b", "hello world"],
      ["c", ""],
      ["d", "€"],
      ["e", "%ZZ"],
    ]);
  });
});

describe("hexDump", () => {
  test("offset, hex columns and ASCII gutter", () => {
    const b = new TextEncoder().encode("Hello, hookscope!\n\x00");
    expect(hexDump(b)).toBe(
      "00000000  48 65 6c 6c 6f 2c 20 68  6f 6f 6b 73 63 6f 70 65  |Hello, hookscope|\n" +
        "00000010  21 0a 00                                          |!..|",
    );
  });
  test("limit caps the output", () => {
    expect(hexDump(new Uint8Array(1000), 32).split("\n")).toHaveLength(2);
  });
});

describe("XML", () => {
  test("pretty-prints by nesting, keeps text on one line, never evaluates", () => {
    const x = `<?xml version="1.0"?><a><b>t</b><c x="1"/><d><e>1</e></d><!-- n --></a>`;
    expect(prettyXML(x)).toBe(`<?xml version="1.0"?>\n<a>\n  <b>t</b>\n  <c x="1"/>\n  <d>\n    <e>1</e>\n  </d>\n  <!-- n -->\n</a>`);
  });
  test.each([
    ["application/xml", "<a/>", true],
    ["text/xml; charset=utf-8", "x", true],
    ["application/atom+xml", "x", true],
    ["text/html", "<p>x</p>", false],
    ["", "<?xml version='1.0'?><a/>", true],
    ["", "<a><b/></a>", true],
    ["", '{"a":1}', false],
  ])("looksLikeXML(%s, %s) = %s", (ct, body, want) => expect(looksLikeXML(ct, body)).toBe(want));
});

describe("multipart", () => {
  test("parts with names, files and content types", () => {
    const ct = 'multipart/form-data; boundary="XyZ"';
    const body =
      "--XyZ\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nvalue 1\r\n" +
      "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nfile body\r\n--XyZ--\r\n";
    expect(boundaryOf(ct)).toBe("XyZ");
    const parts = parseMultipart(body, "XyZ");
    expect(parts.map((p) => [p.name, p.filename, p.contentType, p.value])).toEqual([
      ["field", undefined, undefined, "value 1"],
      ["file", "a.txt", "text/plain", "file body"],
    ]);
  });
});

describe("decodeUTF8", () => {
  test("valid text", () => expect(decodeUTF8(new TextEncoder().encode("héllo"))).toBe("héllo"));
  test("invalid UTF-8 is binary", () => expect(decodeUTF8(new Uint8Array([0xff, 0xfe, 0x00]))).toBeNull());
  test("mostly control bytes is binary", () => expect(decodeUTF8(new Uint8Array(64).fill(1))).toBeNull());
});

describe("insertIndex keeps newest-first order of UUIDv7 ids", () => {
  const ids = ["0190-c", "0190-b", "0190-a"];
  test.each([
    ["0190-d", 0],
    ["0190-bb", 1],
    ["0190-a0", 2],
    ["0190-0", 3],
  ])("%s goes at %d", (id, want) => expect(insertIndex(ids, id, (x) => x)).toBe(want));
});

describe("parseRoute", () => {
  test.each([
    ["/", { page: "home" }],
    ["/bins/abc", { page: "bin", bin: "abc", tab: "requests", search: "" }],
    ["/bins/abc/", { page: "bin", bin: "abc", tab: "requests", search: "" }],
    ["/bins/abc/requests/0190-1", { page: "bin", bin: "abc", tab: "requests", request: "0190-1", search: "" }],
    ["/bins/abc/requests/0190-1?q=x&tab=headers", { page: "bin", bin: "abc", tab: "requests", request: "0190-1", search: "?q=x&tab=headers" }],
    ["/bins/abc/settings", { page: "bin", bin: "abc", tab: "settings", search: "" }],
    ["/bins/abc/stats?range=24h", { page: "bin", bin: "abc", tab: "stats", search: "?range=24h" }],
    ["/bins/a%20b/alerts", { page: "bin", bin: "a b", tab: "alerts", search: "" }],
    ["/bins/abc/nope", { page: "notfound" }],
    ["/elsewhere", { page: "notfound" }],
  ])("%s", (path, want) => expect(parseRoute(path)).toEqual(want));
});

describe("isoToLocal / localToISO", () => {
  test("round trip keeps seconds", () => {
    const iso = "2026-03-04T05:06:07.000Z";
    expect(localToISO(isoToLocal(iso))).toBe(iso);
    expect(isoToLocal(iso)).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:07$/);
  });
  test("empty and invalid", () => {
    expect(isoToLocal("")).toBe("");
    expect(isoToLocal("nope")).toBe("");
    expect(localToISO("")).toBe("");
  });
});

describe("displayPath", () => {
  test.each([
    ["/a%20b", "/a b"],
    ["/x%3Cimg%3E", "/x<img>"],
    ["/bad%ZZ", "/bad%ZZ"],
  ])("%s → %s", (p, want) => expect(displayPath(p)).toBe(want));
});

describe("uuid7Time", () => {
  test("reads the 48-bit millisecond timestamp", () => {
    expect(uuid7Time("01a20ffc-86be-7eb6-8919-d93c06af7e2e")).toBe(0x01a20ffc86be);
  });
  test.each(["not-a-uuid", "e84fd9bb-d93c-4fe7-8d9e-8866fb8b7d19"])("%s is not v7", (id) => expect(uuid7Time(id)).toBeNull());
});

describe("providerOf", () => {
  test.each([
    [{ headers: [["X-GitHub-Event", "push"]] }, { provider: "github", event: "push" }],
    [{ headers: [["Stripe-Signature", "t=1,v1=x"]] }, { provider: "stripe", event: "" }],
    [{ headers: [["X-Shopify-Topic", "orders/create"]] }, { provider: "shopify", event: "orders/create" }],
    [{ headers: [["X-Signature-Ed25519", "ab"]] }, { provider: "discord", event: "" }],
    [{ headers: [], signature: { scheme: "paddle" } }, { provider: "paddle", event: "" }],
    [{ headers: [["X-GitHub-Event", "push"]], signature: { scheme: "hmac" } }, { provider: "github", event: "push" }],
    [{ headers: [], event_type: "invoice.paid", signature: { scheme: "stripe" } }, { provider: "stripe", event: "invoice.paid" }],
    [{ headers: [["Content-Type", "text/plain"]] }, { provider: "", event: "" }],
  ] as any[])("%j", (r, want) => expect(providerOf(r)).toEqual(want));
});

describe("splitHits", () => {
  test("odd parts are the hits, case-insensitive", () => {
    expect(splitHits("Abc abc", "ab")).toEqual(["", "Ab", "c ", "ab", "c"]);
    expect(splitHits("xyz", "q")).toEqual(["xyz"]);
    expect(splitHits("xyz", "")).toEqual(["xyz"]);
  });
});

describe("jsonPath", () => {
  test.each([
    [[], "(root)"],
    [["data", "items", 0, "id"], "data.items[0].id"],
    [["odd key", 2], '["odd key"][2]'],
    [[0, "a-b"], '[0]["a-b"]'],
  ] as any[])("%j", (parts, want) => expect(jsonPath(parts)).toBe(want));
});
