// The "Add a VMR" action on an Outlook appointment (office-addin-mock), with a fake service and
// MSAL: every state the organizer can see, and what ends up in the meeting.

import assert from "node:assert/strict";
import { webcrypto } from "node:crypto";
import { beforeEach, describe, it } from "node:test";

import { addVmr, CONFIG_KEY, MESSAGES, STATES } from "../web/src/addvmr.js";
import { resetSignIn } from "../web/src/auth.js";
import { CONFIG, CONFIG_URL, json, msal, PAGE_URL, RESERVATION, service, storage, TOKEN } from "./fakes.js";
import { addresses, outlook } from "./outlook.js";

function env(mock, overrides = {}) {
  return {
    office: mock.office,
    item: mock.item,
    msal: msal().lib,
    fetch: service().fetch,
    random: webcrypto,
    storage: storage(),
    configUrl: CONFIG_URL,
    pageUrl: PAGE_URL,
    ...overrides,
  };
}

async function run(mock, overrides) {
  const states = [];
  const result = await addVmr(env(mock, overrides), (state, message) => states.push({ state, message }));
  return { result, states };
}

beforeEach(() => resetSignIn());

describe("success", () => {
  it("adds the instructions after the organizer's text, sets the location and invites the resource", async () => {
    const mock = outlook({
      body: "<html><body><p>Agenda: budget</p></body></html>",
      required: ["bob@contoso.com"],
    });
    const fake = service();
    const { result, states } = await run(mock, { fetch: fake.fetch });

    assert.equal(result.state, STATES.SUCCESS);
    assert.deepEqual(
      states.map((s) => s.state),
      [STATES.WORKING, STATES.SUCCESS],
    );
    const body = mock.item.body.content;
    assert.ok(body.startsWith("<html><body><p>Agenda: budget</p>"), body);
    assert.ok(body.endsWith(`${RESERVATION.instructions.html}</body></html>`), body);
    assert.equal(mock.item.body.writtenAs, "html");
    assert.equal(mock.item.location.value, RESERVATION.location);
    assert.deepEqual(addresses(mock.item), ["bob@contoso.com", "vmr@contoso.com"]);
    assert.match(result.message, /8112345678@vmr\.contoso\.com added/);
  });

  it("posts the subject and times with the user's token, and never the organizer", async () => {
    const mock = outlook({ subject: "Budget 2027" });
    const fake = service();
    await run(mock, { fetch: fake.fetch });

    const post = fake.calls.find((c) => c.method === "POST");
    assert.equal(post.url, "https://vmr.contoso.com/api/v1/reservations");
    assert.equal(post.headers.Authorization, "Bearer user-access-token");
    assert.deepEqual(JSON.parse(post.body), {
      subject: "Budget 2027",
      start: "2026-11-25T09:00:00.000Z",
      end: "2026-11-25T10:00:00.000Z",
    });
  });

  it("with an Exchange identity token, names the meeting's organizer, which the token does not", async () => {
    const config = { ...CONFIG, auth: { kind: "exchange_identity" } };
    const mock = outlook({ identityToken: "eyJ-exchange", itemOrganizer: "team@contoso.com" });
    const fake = service({ config });
    const { result } = await run(mock, { fetch: fake.fetch, msal: undefined });

    assert.equal(result.state, STATES.SUCCESS, result.message);
    const post = fake.calls.find((c) => c.method === "POST");
    assert.equal(post.headers.Authorization, "Bearer eyJ-exchange");
    assert.equal(JSON.parse(post.body).organizer, "team@contoso.com");
  });

  it("names the user's own address when Outlook cannot tell the item's organizer", async () => {
    const config = { ...CONFIG, auth: { kind: "exchange_identity" } };
    for (const options of [{}, { itemOrganizer: "x@contoso.com", fail: { "organizer.getAsync": "not supported" } }]) {
      const mock = outlook({ organizer: "alice@contoso.com", ...options });
      const fake = service({ config });
      await run(mock, { fetch: fake.fetch, msal: undefined });
      const post = fake.calls.find((c) => c.method === "POST");
      assert.equal(JSON.parse(post.body).organizer, "alice@contoso.com");
    }
  });

  it("keeps a location the organizer typed and adds the VMR beside it", async () => {
    const mock = outlook({ location: "Room 4.01" });
    await run(mock);
    assert.equal(mock.item.location.value, `Room 4.01; ${RESERVATION.location}`);
  });

  it("does not invite the resource twice when it is already an attendee, even as optional", async () => {
    const mock = outlook({ optional: ["VMR@contoso.com"] });
    await run(mock);
    assert.deepEqual(addresses(mock.item), []);
    assert.deepEqual(addresses(mock.item, "optionalAttendees"), ["VMR@contoso.com"]);
  });

  it("writes the plain-text instructions into a plain-text body", async () => {
    const mock = outlook({ body: "Agenda: budget\n", bodyType: "text" });
    await run(mock);
    assert.equal(mock.item.body.content, `Agenda: budget\n\n${RESERVATION.instructions.text}`);
    assert.equal(mock.item.body.writtenAs, "text");
  });

  it("appends to an HTML fragment without a body element", async () => {
    const mock = outlook({ body: "<p>Hello</p>" });
    await run(mock);
    assert.equal(mock.item.body.content, `<p>Hello</p><br>${RESERVATION.instructions.html}`);
  });
});

describe("already assigned", () => {
  const cases = [
    ["a VMR token", `<p>Join</p><p>${TOKEN}</p>`, MESSAGES.alreadyVmr],
    ["a VMR token split by markup", `<p>VMRS:-ABCDEFGHIJ<span>KLMNOPQRSTUVWXYZ234567.ABCDEFGHIJKLMNOPQRSTUVWX</span>#</p>`, MESSAGES.alreadyVmr],
    ["a damaged token", "<p>VMRS:-ABCDEFGHIJKLMNOPQRSTUV</p>", MESSAGES.alreadyDamaged],
    ["a placeholder token", "<p>VMRP:-ABCDEFGHIJKLMNOP0123456789ABCDEF#</p>", MESSAGES.alreadyPlaceholder],
    ["a Teams meeting", '<a href="https://teams.microsoft.com/l/meetup-join/19%3ameeting_x%40thread.v2/0">Join</a>', MESSAGES.alreadyProvider("Microsoft Teams")],
    ["a Zoom meeting", "<p>https://contoso.zoom.us/j/98765432100?pwd=abc</p>", MESSAGES.alreadyProvider("Zoom")],
    ["a Webex meeting", "<p>https://contoso.webex.com/meet/alice</p>", MESSAGES.alreadyProvider("Webex")],
    ["a Google Meet meeting", "<p>meet.google.com/abc-defg-hij</p>", MESSAGES.alreadyProvider("Google Meet")],
  ];
  for (const [what, body, message] of cases) {
    it(`says so and changes nothing when the body has ${what}`, async () => {
      const mock = outlook({ body });
      const fake = service();
      const { result } = await run(mock, { fetch: fake.fetch });
      assert.equal(result.state, STATES.ALREADY);
      assert.equal(result.message, message);
      assert.equal(mock.item.body.writes, 0);
      assert.equal(mock.item.location.value, "");
      assert.deepEqual(addresses(mock.item), []);
      assert.equal(fake.calls.filter((c) => c.method === "POST").length, 0, "no reservation made");
    });
  }

  it("answers a second click with 'already assigned'", async () => {
    const mock = outlook({ body: "<p>Agenda</p>" });
    const fake = service();
    assert.equal((await run(mock, { fetch: fake.fetch })).result.state, STATES.SUCCESS);
    const second = await run(mock, { fetch: fake.fetch });
    assert.equal(second.result.state, STATES.ALREADY);
    assert.equal(fake.calls.filter((c) => c.method === "POST").length, 1);
  });
});

describe("errors", () => {
  const refusals = [
    [403, "organizer_not_allowed", "alice@contoso.com may not reserve video meeting rooms."],
    [401, "unauthorized", "Your sign-in was not accepted."],
    [429, "rate_limited", "Too many reservations; try again in 30 seconds."],
    [400, "bad_request", "start must be an ISO-8601 time"],
  ];
  for (const [status, code, message] of refusals) {
    it(`shows the service's message for HTTP ${status} (${code}) and inserts nothing`, async () => {
      const mock = outlook({ body: "<p>Agenda</p>" });
      const fake = service({ reserve: json(status, { error: code, message }) });
      const { result, states } = await run(mock, { fetch: fake.fetch });
      assert.equal(result.state, STATES.ERROR);
      assert.ok(result.message.includes(message.replace(/\.$/, "")), result.message);
      assert.match(result.message, /Nothing was changed\.$/);
      assert.equal(states.at(-1).state, STATES.ERROR);
      assert.equal(mock.item.body.content, "<p>Agenda</p>");
      assert.deepEqual(addresses(mock.item), []);
    });
  }

  it("says why when signing in fails, without calling the service", async () => {
    const mock = outlook();
    const fake = service();
    const broken = msal({ silent: () => { throw new Error("no_account_error"); } });
    const { result } = await run(mock, { fetch: fake.fetch, msal: broken.lib });
    assert.equal(result.state, STATES.ERROR);
    assert.match(result.message, /signing in failed: popup_window_error/);
    assert.equal(fake.calls.filter((c) => c.method === "POST").length, 0);
  });

  it("reports an item Outlook will not let it change", async () => {
    const mock = outlook({ fail: { "body.setAsync": "The item is read-only." } });
    const { result } = await run(mock);
    assert.equal(result.state, STATES.ERROR);
    assert.match(result.message, /The item is read-only/);
  });

  it("treats an answer without instructions as an error, not as success", async () => {
    const mock = outlook();
    const fake = service({ reserve: json(201, { alias: "x" }) });
    const { result } = await run(mock, { fetch: fake.fetch });
    assert.equal(result.state, STATES.ERROR);
    assert.equal(mock.item.body.writes, 0);
  });
});

describe("service unreachable", () => {
  const placeholderIn = (text) => text.match(/VMRP:-([A-Z0-9]+)#/);

  it("inserts the placeholder with a fresh token and invites the resource", async () => {
    const mock = outlook({ body: "<p>Agenda</p>", location: "Room 1" });
    const fake = service({ reserve: "down" });
    const { result } = await run(mock, { fetch: fake.fetch });

    assert.equal(result.state, STATES.UNREACHABLE);
    assert.equal(result.message, MESSAGES.unreachable);
    const found = placeholderIn(mock.item.body.content);
    assert.ok(found, mock.item.body.content);
    assert.equal(found[1].length, 32);
    assert.equal(found[0], result.placeholder);
    assert.ok(mock.item.body.content.startsWith("<p>Agenda</p>"));
    assert.ok(mock.item.body.content.includes("Video meeting details will follow"));
    assert.ok(!mock.item.body.content.includes("{{placeholder_token}}"));
    assert.equal(mock.item.location.value, "Room 1", "the organizer's location is kept");
    assert.deepEqual(addresses(mock.item), ["vmr@contoso.com"]);
  });

  for (const status of [502, 503, 504]) {
    it(`takes HTTP ${status} as unreachable`, async () => {
      const mock = outlook();
      const fake = service({ reserve: json(status, { error: "unavailable", message: "The service is starting." }) });
      const { result } = await run(mock, { fetch: fake.fetch });
      assert.equal(result.state, STATES.UNREACHABLE);
      assert.ok(placeholderIn(mock.item.body.content));
    });
  }

  it("uses the config remembered from an earlier read when config.json cannot be read", async () => {
    const kept = storage();
    kept.setItem(CONFIG_KEY, JSON.stringify({ ...CONFIG, resource_mailbox: "rooms@contoso.com" }));
    const mock = outlook();
    const fake = service({ configDown: true });
    const { result } = await run(mock, { fetch: fake.fetch, storage: kept });
    assert.equal(result.state, STATES.UNREACHABLE);
    assert.deepEqual(addresses(mock.item), ["rooms@contoso.com"]);
    assert.ok(mock.item.body.content.includes("Reference: VMRP:-"));
  });

  it("still inserts a placeholder with no config at all, and says to invite the room", async () => {
    const mock = outlook();
    const fake = service({ configDown: true });
    const { result } = await run(mock, { fetch: fake.fetch });
    assert.equal(result.state, STATES.UNREACHABLE);
    assert.equal(result.message, MESSAGES.unreachableNoMailbox);
    assert.ok(placeholderIn(mock.item.body.content));
    assert.deepEqual(addresses(mock.item), []);
  });

  it("remembers config.json after a successful read", async () => {
    const kept = storage();
    await run(outlook(), { storage: kept });
    assert.deepEqual(JSON.parse(kept.getItem(CONFIG_KEY)), CONFIG);
  });

  it("gives up on a service that does not answer in time", async (t) => {
    t.mock.timers.enable({ apis: ["setTimeout"] });
    const mock = outlook();
    const fake = service({ reserve: "hang" });
    const pending = run(mock, { fetch: fake.fetch, config: CONFIG });
    // Let the add-in get as far as the request, then let the timeout pass.
    for (let i = 0; i < 50 && !fake.calls.some((c) => c.method === "POST"); i += 1) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    t.mock.timers.tick(15000);
    const { result } = await pending;
    assert.equal(result.state, STATES.UNREACHABLE);
  });
});
