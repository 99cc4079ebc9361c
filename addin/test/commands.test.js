// The one-click command page, run against office-addin-mock's Outlook with fakes for the
// service and MSAL: it registers "addVmr", reports each state in the message bar and completes.

import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { afterEach, beforeEach, describe, it } from "node:test";

import { resetSignIn } from "../web/src/auth.js";
import { msal, service, storage } from "./fakes.js";
import { addresses, outlook } from "./outlook.js";

let saved;

beforeEach(() => {
  resetSignIn();
  saved = { Office: globalThis.Office, window: globalThis.window };
});

afterEach(() => {
  globalThis.Office = saved.Office;
  globalThis.window = saved.window;
});

async function loadCommands(mock, fake) {
  const associated = {};
  mock.office.actions = { associate: (name, fn) => { associated[name] = fn; } };
  mock.office.onReady = (callback) => callback({ host: "Outlook" });
  globalThis.Office = mock.office;
  globalThis.window = {
    location: { href: "https://vmr.contoso.com/addin/commands.html" },
    msal: msal().lib,
    fetch: fake.fetch,
    crypto: webcrypto,
    localStorage: storage(),
  };
  // A fresh copy of the module each time (the query makes it a new module instance).
  await import(`../web/commands.js?${Math.random()}`);
  return associated;
}

describe("function command", () => {
  it("registers addVmr, adds the VMR, tells each state and completes the event", async () => {
    const mock = outlook({ body: "<p>Agenda</p>" });
    const fake = service();
    const associated = await loadCommands(mock, fake);
    assert.equal(typeof associated.addVmr, "function");
    assert.equal(globalThis.window.addVmr, associated.addVmr);

    let completed = 0;
    await associated.addVmr({ completed: () => { completed += 1; } });

    assert.equal(completed, 1);
    assert.deepEqual(
      mock.item.notificationMessages.shown.map((m) => m.type),
      ["progressIndicator", "informationalMessage"],
    );
    assert.match(mock.item.notificationMessages.shown[1].message, /^Video meeting room 8112345678@vmr\.contoso\.com added/);
    assert.ok(mock.item.body.content.includes("Join the video meeting"));
    assert.deepEqual(addresses(mock.item), ["vmr@contoso.com"]);
  });

  it("completes the event and shows an error message when the service refuses", async () => {
    const mock = outlook();
    const { json } = await import("./fakes.js");
    const fake = service({ reserve: json(403, { error: "organizer_not_allowed", message: "You may not reserve rooms." }) });
    const associated = await loadCommands(mock, fake);
    let completed = 0;
    await associated.addVmr({ completed: () => { completed += 1; } });
    assert.equal(completed, 1);
    const last = mock.item.notificationMessages.shown.at(-1);
    assert.equal(last.type, "errorMessage");
    assert.match(last.message, /You may not reserve rooms/);
  });
});
