import { describe, expect, it } from "vitest";
import { highlightTerm } from "./searchhelp";

describe("highlightTerm", () => {
  it("marks a bare word or a quoted phrase, nothing for fields and operators", () => {
    expect(highlightTerm("eur")).toBe("eur");
    expect(highlightTerm(" orders/1 ")).toBe("orders/1");
    expect(highlightTerm('"card declined"')).toBe("card declined");
    expect(highlightTerm("https://x.test/a")).toBe("https://x.test/a"); // an unknown prefix is text
    for (const q of ["", "status:5xx", "header:X-A=b", "body.a.b:1", "Method:post", "a b", "-a", "(a)", "a OR b", "NOT", '"a\\"b"']) {
      expect(highlightTerm(q)).toBeUndefined();
    }
  });
});
