// Placeholder tokens made in the browser, and the placeholder text they go into.

import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { describe, it } from "node:test";

import { FALLBACK_TEMPLATE, fillPlaceholder, MARKER, placeholderToken } from "../web/src/placeholder.js";

// The service's own reading rule (src/vmrsched/domain/tokens.py).
const SERVICE_PATTERN = /^VMRP:-[A-Z0-9]{16,64}#$/;

describe("placeholder tokens", () => {
  it("have the form the service reads: VMRP:- and 32 capital letters or digits and #", () => {
    for (let i = 0; i < 200; i += 1) {
      const token = placeholderToken(webcrypto);
      assert.match(token, SERVICE_PATTERN);
      assert.equal(token.length, "VMRP:-".length + 32 + 1);
    }
  });

  it("are different each time", () => {
    const tokens = new Set(Array.from({ length: 500 }, () => placeholderToken(webcrypto)));
    assert.equal(tokens.size, 500);
  });

  it("draw again for bytes that would bias the alphabet (252 to 255)", () => {
    // The first call yields only biased bytes, the next only zeros: every character is "A".
    let calls = 0;
    const random = {
      getRandomValues(array) {
        array.fill(calls === 0 ? 253 : 0);
        calls += 1;
        return array;
      },
    };
    assert.equal(placeholderToken(random), `VMRP:-${"A".repeat(32)}#`);
    assert.equal(calls, 2);
  });

  it("map bytes onto all 36 characters", () => {
    let next = 0;
    const random = {
      getRandomValues(array) {
        for (let i = 0; i < array.length; i += 1) {
          array[i] = next % 252;
          next += 1;
        }
        return array;
      },
    };
    const seen = new Set();
    for (let i = 0; i < 10; i += 1) {
      for (const char of placeholderToken(random).slice(6, -1)) {
        seen.add(char);
      }
    }
    assert.equal(seen.size, 36);
  });

  it("are refused without a secure random source", () => {
    assert.throws(() => placeholderToken(undefined), /crypto\.getRandomValues/);
  });
});

describe("placeholder text", () => {
  it("puts the token wherever the template has the marker", () => {
    const filled = fillPlaceholder({ html: `<p>${MARKER}</p><i>${MARKER}</i>`, text: `ref ${MARKER}` }, "VMRP:-X#");
    assert.equal(filled.html, "<p>VMRP:-X#</p><i>VMRP:-X#</i>");
    assert.equal(filled.text, "ref VMRP:-X#");
  });

  it("adds the token to a template that forgot the marker", () => {
    const filled = fillPlaceholder({ html: "<p>Details follow</p>", text: "Details follow" }, "VMRP:-X#");
    assert.equal(filled.html, '<div class="vmrsched-placeholder"><p>Details follow</p><p>VMRP:-X#</p></div>');
    assert.equal(filled.text, "Details follow\n\nVMRP:-X#");
  });

  it("falls back to built-in words when there is no template", () => {
    const filled = fillPlaceholder(undefined, "VMRP:-X#");
    assert.equal(filled.html, FALLBACK_TEMPLATE.html.replace(MARKER, "VMRP:-X#"));
    assert.ok(filled.text.includes("VMRP:-X#"));
  });
});
