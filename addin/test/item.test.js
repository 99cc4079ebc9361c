// The appointment edits: body, location and attendees keep what the organizer wrote.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { addLocation, appendHtml, appendText, ensureAttendee, readBody, readDetails } from "../web/src/item.js";
import { addresses, outlook } from "./outlook.js";

describe("body", () => {
  it("inserts before the last </body>, whatever its case and spacing", () => {
    const html = "<html><body><p>a</p><!-- </body> --></BODY >\n</html>";
    assert.equal(appendHtml(html, "<div>X</div>"), "<html><body><p>a</p><!-- </body> --><div>X</div></BODY >\n</html>");
  });

  it("appends to text after one blank line, and to an empty body without one", () => {
    assert.equal(appendText("Agenda\n\n\n", "Join"), "Agenda\n\nJoin");
    assert.equal(appendText("", "Join"), "Join");
  });

  it("reads an HTML body as HTML and a text body as text", async () => {
    const html = outlook({ body: "<p>x</p>" });
    assert.deepEqual(await readBody(html.office, html.item), { type: "html", content: "<p>x</p>" });
    assert.equal(html.item.body.readAs, "html");
    const text = outlook({ body: "x", bodyType: "text" });
    assert.deepEqual(await readBody(text.office, text.item), { type: "text", content: "x" });
    assert.equal(text.item.body.readAs, "text");
  });

  it("passes on Office's message when the body cannot be read", async () => {
    const mock = outlook({ fail: { "body.getAsync": "Internal error" } });
    await assert.rejects(readBody(mock.office, mock.item), /getAsync failed: Internal error/);
  });
});

describe("location", () => {
  it("sets an empty location", async () => {
    const { item } = outlook();
    assert.equal(await addLocation(item, "VMR 81"), "VMR 81");
    assert.equal(item.location.value, "VMR 81");
  });

  it("leaves a location that already names the VMR", async () => {
    const { item } = outlook({ location: "Room 1; vmr 81" });
    assert.equal(await addLocation(item, "VMR 81"), "Room 1; vmr 81");
  });

  it("does nothing without a location from the service", async () => {
    const { item } = outlook({ location: "Room 1" });
    assert.equal(await addLocation(item, ""), null);
    assert.equal(item.location.value, "Room 1");
  });
});

describe("attendees", () => {
  it("adds the resource as required attendee once", async () => {
    const { item } = outlook({ required: ["bob@contoso.com"] });
    assert.equal(await ensureAttendee(item, "vmr@contoso.com"), true);
    assert.equal(await ensureAttendee(item, "VMR@Contoso.com"), false);
    assert.deepEqual(addresses(item), ["bob@contoso.com", "vmr@contoso.com"]);
  });

  it("adds nobody when there is no mailbox to add", async () => {
    const { item } = outlook();
    assert.equal(await ensureAttendee(item, ""), false);
    assert.deepEqual(addresses(item), []);
  });
});

describe("details", () => {
  it("leaves out what cannot be read", async () => {
    const { item } = outlook({ subject: "", fail: { "start.getAsync": "no" } });
    assert.deepEqual(await readDetails(item), { end: "2026-11-25T10:00:00.000Z" });
  });
});
