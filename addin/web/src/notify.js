// The one-click command has no pane: it tells the organizer what happened in the message bar
// above the meeting (item.notificationMessages), one message replaced as the state changes.

export const NOTIFICATION_KEY = "vmrsched-status";
/** The manifest's icon resource id shown beside informational messages. */
export const ICON_ID = "Icon.16x16";
/** Outlook refuses notification messages longer than this. */
export const MAX_LENGTH = 150;

function kinds(office) {
  const types = (office && office.MailboxEnums && office.MailboxEnums.ItemNotificationMessageType) || {};
  return {
    progress: types.ProgressIndicator || "progressIndicator",
    info: types.InformationalMessage || "informationalMessage",
    error: types.ErrorMessage || "errorMessage",
  };
}

/** `message` cut to what Outlook shows, ending with an ellipsis when cut. */
export function shorten(message) {
  const text = String(message || "");
  return text.length <= MAX_LENGTH ? text : `${text.slice(0, MAX_LENGTH - 1).trimEnd()}…`;
}

/** The notification for a state, as `item.notificationMessages.replaceAsync` takes it. */
export function notificationFor(office, state, message) {
  const type = kinds(office);
  if (state === "working") {
    return { type: type.progress, message: shorten(message) };
  }
  if (state === "error") {
    return { type: type.error, message: shorten(message) };
  }
  // icon and persistent are allowed only on informational messages.
  return { type: type.info, message: shorten(message), icon: ICON_ID, persistent: false };
}

/** Show `message` for `state` on the item; resolves even when Outlook refuses (nothing to do). */
export function notify(office, item, state, message) {
  return new Promise((resolve) => {
    const messages = item && item.notificationMessages;
    if (!messages || typeof messages.replaceAsync !== "function") {
      resolve(false);
      return;
    }
    try {
      messages.replaceAsync(NOTIFICATION_KEY, notificationFor(office, state, message), (result) => {
        resolve(Boolean(result) && String(result.status).toLowerCase() === "succeeded");
      });
    } catch {
      resolve(false);
    }
  });
}
