// Recognising join details already in a meeting's body.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { findExisting, plainText } from "../web/src/detect.js";

const SIGNED = "VMRS:-ABCDEFGHIJKLMNOPQRSTUVWXYZ234567.ABCDEFGHIJKLMNOPQRSTUVWX#";

describe("findExisting", () => {
  it("finds a signed token in any letter case, through zero-width characters and line breaks", () => {
    const mangled = `<p>vmrs:-abcdefghijklmnop\u200bqrstuvwxyz234567.\nABCDEFGHIJKLMNOPQRSTUVWX#</p>`;
    assert.equal(findExisting(mangled).kind, "vmr");
    assert.equal(findExisting(`<p>${SIGNED}</p>`).token, SIGNED);
  });

  it("finds a placeholder token of 16 to 64 characters", () => {
    assert.equal(findExisting("VMRP:-0123456789ABCDEF#").kind, "placeholder");
    assert.equal(findExisting(`VMRP:-${"A".repeat(64)}#`).kind, "placeholder");
  });

  it("ignores words that only resemble tokens or providers", () => {
    assert.equal(findExisting("<p>Let us talk about VMRs and Teams and Zoom.</p>"), null);
  });

  it("calls our prefix without a whole token damaged", () => {
    assert.deepEqual(findExisting("VMRP:-SHORT#"), { kind: "damaged" });
    assert.deepEqual(findExisting("<p>VMRS:-ABCDEFGHIJKLMNOP</p>"), { kind: "damaged" });
  });

  const providers = [
    ["Microsoft Teams", '<a href="https://teams.microsoft.com/l/meetup-join/19%3ameeting_N2Y%40thread.v2/0?context=%7b%7d">Join the meeting now</a>'],
    ["Microsoft Teams", "https://teams.live.com/meet/9312345678901"],
    ["Zoom", "Join Zoom Meeting https://us02web.zoom.us/j/81234567890?pwd=abc"],
    ["Zoom", "https://zoom.us/my/alice"],
    ["Webex", "https://contoso.webex.com/contoso/j.php?MTID=m1234"],
    ["Webex", "https://contoso.webex.com/meet/alice"],
    ["Google Meet", '<a href="https://meet.google.com/abc-defg-hij">Join with Google Meet</a>'],
  ];
  for (const [provider, body] of providers) {
    it(`recognises ${provider} join details: ${body.slice(0, 50)}`, () => {
      assert.deepEqual(findExisting(body), { kind: "provider", provider });
    });
  }

  it("prefers our own token over another provider's link in the same body", () => {
    const both = `<p>${SIGNED}</p><p>https://teams.microsoft.com/l/meetup-join/19%3a</p>`;
    assert.equal(findExisting(both).kind, "vmr");
  });

  it("does not take lookalike hosts for providers", () => {
    assert.equal(findExisting("https://notzoom.us/j/123"), null);
    assert.equal(findExisting("https://teams.microsoft.com/l/chat/0/0"), null);
  });

  it("reads empty and missing bodies as having nothing", () => {
    assert.equal(findExisting(""), null);
    assert.equal(findExisting(undefined), null);
  });
});

describe("plainText", () => {
  it("drops tags and decodes the common entities", () => {
    assert.equal(plainText("<p>a&nbsp;&amp;&lt;b&gt;</p>").trim(), "a &<b>");
  });
});
