// An Outlook appointment being composed by its organizer, as office-addin-mock objects: the
// Office.js calls the add-in makes (body, location, attendees, subject, start, end, notification
// messages) with Office's callback convention, recording what they were given.

import { OfficeMockObject } from "office-addin-mock";

const ok = (value) => ({ status: "succeeded", value });
const failed = (message) => ({ status: "failed", error: { code: 9999, message } });

/**
 * @param {object} options the item's starting state; `fail` names methods that fail
 *   (e.g. `{ "body.setAsync": "The item is read-only" }`)
 */
export function outlook(options = {}) {
  const fail = options.fail || {};
  const answer = (name, callback, value) =>
    callback(name in fail ? failed(fail[name]) : ok(value));
  const data = {
    CoercionType: { Html: "html", Text: "text" },
    AsyncResultStatus: { Succeeded: "succeeded", Failed: "failed" },
    MailboxEnums: {
      ItemNotificationMessageType: {
        ProgressIndicator: "progressIndicator",
        InformationalMessage: "informationalMessage",
        ErrorMessage: "errorMessage",
      },
    },
    context: {
      mailbox: {
        userProfile: { emailAddress: options.organizer || "alice@contoso.com" },
        getUserIdentityTokenAsync(callback) {
          answer("getUserIdentityTokenAsync", callback, options.identityToken || "exchange-identity-token");
        },
        item: {
          itemType: "appointment",
          body: {
            content: options.body ?? "",
            type: options.bodyType || "html",
            writes: 0,
            getTypeAsync(callback) {
              answer("body.getTypeAsync", callback, this.type);
            },
            getAsync(coercionType, callback) {
              this.readAs = coercionType;
              answer("body.getAsync", callback, this.content);
            },
            setAsync(data, opts, callback) {
              if (!("body.setAsync" in fail)) {
                this.content = data;
                this.writes += 1;
                this.writtenAs = opts && opts.coercionType;
              }
              answer("body.setAsync", callback);
            },
          },
          location: {
            value: options.location || "",
            getAsync(callback) {
              answer("location.getAsync", callback, this.value);
            },
            setAsync(value, callback) {
              if (!("location.setAsync" in fail)) {
                this.value = value;
              }
              answer("location.setAsync", callback);
            },
          },
          requiredAttendees: attendees("requiredAttendees", options.required || [], answer, fail),
          optionalAttendees: attendees("optionalAttendees", options.optional || [], answer, fail),
          subject: {
            value: options.subject ?? "Design review",
            getAsync(callback) {
              answer("subject.getAsync", callback, this.value);
            },
          },
          start: {
            value: options.start || new Date("2026-11-25T09:00:00Z"),
            getAsync(callback) {
              answer("start.getAsync", callback, this.value);
            },
          },
          end: {
            value: options.end || new Date("2026-11-25T10:00:00Z"),
            getAsync(callback) {
              answer("end.getAsync", callback, this.value);
            },
          },
          notificationMessages: {
            shown: [],
            replaceAsync(key, details, callback) {
              this.shown.push({ key, ...details });
              answer("notificationMessages.replaceAsync", callback);
            },
          },
        },
      },
    },
  };
  if (options.itemOrganizer !== undefined) {
    // Mailbox 1.7: the organizer of the appointment being composed (the calendar's owner).
    data.context.mailbox.item.organizer = {
      getAsync(callback) {
        answer("organizer.getAsync", callback, { emailAddress: options.itemOrganizer, displayName: "" });
      },
    };
  }
  if (options.nestedAppAuth !== undefined) {
    data.context.requirements = {
      isSetSupported(name) {
        return name === "NestedAppAuth" ? options.nestedAppAuth : true;
      },
    };
  }
  const office = new OfficeMockObject(data, "outlook");
  return { office, item: office.context.mailbox.item };
}

function attendees(name, initial, answer, fail) {
  return {
    // office-addin-mock keeps arrays as plain values; a wrapper object keeps the list mutable.
    list: { entries: initial.map((address) => ({ emailAddress: address, displayName: address })) },
    getAsync(callback) {
      answer(`${name}.getAsync`, callback, this.list.entries.slice());
    },
    addAsync(added, callback) {
      if (!(`${name}.addAsync` in fail)) {
        for (const entry of added) {
          const address = typeof entry === "string" ? entry : entry.emailAddress;
          this.list.entries.push({ emailAddress: address, displayName: entry.displayName || address });
        }
      }
      answer(`${name}.addAsync`, callback);
    },
  };
}

/** The addresses now on a list of the mock item. */
export function addresses(item, list = "requiredAttendees") {
  return item[list].list.entries.map((entry) => entry.emailAddress);
}
