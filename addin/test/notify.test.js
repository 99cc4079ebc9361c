// The one-click command's messages in the bar above the meeting.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { ICON_ID, MAX_LENGTH, notificationFor, notify, NOTIFICATION_KEY, shorten } from "../web/src/notify.js";
import { outlook } from "./outlook.js";

describe("notification messages", () => {
  it("show progress while working, an error for errors, and information otherwise", async () => {
    const { office, item } = outlook();
    await notify(office, item, "working", "Adding…");
    await notify(office, item, "error", "Could not add.");
    await notify(office, item, "success", "Added.");
    assert.deepEqual(item.notificationMessages.shown, [
      { key: NOTIFICATION_KEY, type: "progressIndicator", message: "Adding…" },
      { key: NOTIFICATION_KEY, type: "errorMessage", message: "Could not add." },
      { key: NOTIFICATION_KEY, type: "informationalMessage", message: "Added.", icon: ICON_ID, persistent: false },
    ]);
  });

  it("are cut to the 150 characters Outlook accepts", () => {
    const long = "x".repeat(400);
    assert.equal(shorten(long).length, MAX_LENGTH);
    assert.ok(shorten(long).endsWith("…"));
    assert.equal(notificationFor(outlook().office, "already", long).message.length, MAX_LENGTH);
    assert.equal(shorten("short"), "short");
  });

  it("resolve false when Outlook refuses them", async () => {
    const { office, item } = outlook({ fail: { "notificationMessages.replaceAsync": "too many" } });
    assert.equal(await notify(office, item, "success", "Added."), false);
  });
});
