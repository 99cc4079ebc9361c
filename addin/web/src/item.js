// The appointment being composed: read its body and details, add the join block, the location
// and the resource mailbox, keeping everything the organizer already wrote.

import { call, coercion } from "./office.js";

const BODY_END = /<\/body\s*>/gi;

/**
 * The body as the item holds it: `{type: "html"|"text", content}`. A plain-text body (Outlook
 * on Mac or Windows can compose in plain text) is read and written as text.
 */
export async function readBody(office, item) {
  let type = "html";
  try {
    const reported = await call(item.body, "getTypeAsync");
    type = String(reported).toLowerCase() === "text" ? "text" : "html";
  } catch {
    // getTypeAsync is in every requirement set the add-in asks for; assume HTML if it fails.
  }
  const content = await call(item.body, "getAsync", coercion(office, type));
  return { type, content: String(content || "") };
}

/**
 * `existing` with `block` added at its end: before `</body>` when the HTML is a whole document
 * (as Outlook returns it), else after the last character.
 */
export function appendHtml(existing, block) {
  const html = String(existing || "");
  let last = -1;
  for (const match of html.matchAll(BODY_END)) {
    last = match.index;
  }
  if (last < 0) {
    return `${html}${block}`;
  }
  return `${html.slice(0, last)}${block}${html.slice(last)}`;
}

/** `existing` with `block` after a blank line (text bodies). */
export function appendText(existing, block) {
  const text = String(existing || "").replace(/\s+$/, "");
  return text ? `${text}\n\n${block}` : block;
}

/**
 * Add the join block `{html, text}` at the end of the body, in the body's own format.
 * @param {{type: string, content: string}} body what readBody returned
 */
export async function addToBody(office, item, body, block) {
  if (body.type === "text") {
    const text = appendText(body.content, block.text);
    await call(item.body, "setAsync", text, { coercionType: coercion(office, "text") });
    return text;
  }
  // A visual gap between the organizer's text and the join block, in every client's renderer.
  const html = appendHtml(body.content, `<br>${block.html}`);
  await call(item.body, "setAsync", html, { coercionType: coercion(office, "html") });
  return html;
}

/**
 * Set the location to `value`, keeping a location the organizer already typed (Outlook
 * separates several locations with "; ").
 */
export async function addLocation(item, value) {
  if (!value) {
    return null;
  }
  let current = "";
  try {
    current = String((await call(item.location, "getAsync")) || "").trim();
  } catch {
    current = "";
  }
  if (current.toLowerCase().includes(value.toLowerCase())) {
    return current;
  }
  const location = current ? `${current}; ${value}` : value;
  await call(item.location, "setAsync", location);
  return location;
}

function addressOf(attendee) {
  if (typeof attendee === "string") {
    return attendee;
  }
  return (attendee && (attendee.emailAddress || attendee.address)) || "";
}

/**
 * Add `mailbox` as a required attendee unless it is already required or optional.
 * @returns {Promise<boolean>} whether it was added
 */
export async function ensureAttendee(item, mailbox, displayName) {
  if (!mailbox) {
    return false;
  }
  const wanted = mailbox.toLowerCase();
  for (const list of [item.requiredAttendees, item.optionalAttendees]) {
    if (!list) {
      continue;
    }
    const attendees = (await call(list, "getAsync")) || [];
    if (attendees.some((attendee) => addressOf(attendee).toLowerCase() === wanted)) {
      return false;
    }
  }
  const entry = displayName ? { displayName, emailAddress: mailbox } : mailbox;
  await call(item.requiredAttendees, "addAsync", [entry]);
  return true;
}

/**
 * Subject, start and end, for the reservation request (each left out when it cannot be read:
 * they are hints for the service, not requirements).
 */
export async function readDetails(item) {
  const details = {};
  const read = async (key, target, convert) => {
    try {
      const value = await call(target, "getAsync");
      if (value !== undefined && value !== null && value !== "") {
        details[key] = convert(value);
      }
    } catch {
      // a hint only
    }
  };
  await read("subject", item.subject, String);
  await read("start", item.start, (value) => new Date(value).toISOString());
  await read("end", item.end, (value) => new Date(value).toISOString());
  return details;
}

/**
 * The organizer's address, for a sign-in whose token names none (Exchange identity tokens):
 * the item's organizer where Outlook tells it in compose mode (Mailbox 1.7; in a shared or
 * delegated calendar that is the calendar's owner), else the signed-in user's own address.
 * vmrsched records it as a claim and honours the reservation only in meetings this address
 * organizes or sends.
 */
export async function readOrganizer(office, item) {
  if (item.organizer && typeof item.organizer.getAsync === "function") {
    try {
      const organizer = await call(item.organizer, "getAsync");
      const address = organizer && (organizer.emailAddress || organizer.address);
      if (address) {
        return String(address);
      }
    } catch {
      // older Outlook: the user's own address below
    }
  }
  const profile = office.context.mailbox.userProfile;
  return (profile && profile.emailAddress) || "";
}
