// The ribbon's one-click command: the same "Add a VMR" as the task pane, reporting in the
// message bar above the meeting. Outlook waits for event.completed() before it ends the command.

import { addVmr } from "./src/addvmr.js";
import { notify } from "./src/notify.js";

const CONFIG_URL = new URL("config.json", window.location.href).toString();

async function addVmrCommand(event) {
  const item = Office.context.mailbox.item;
  try {
    let shown = Promise.resolve();
    await addVmr(
      {
        office: Office,
        item,
        msal: window.msal,
        fetch: window.fetch.bind(window),
        random: window.crypto,
        storage: window.localStorage,
        configUrl: CONFIG_URL,
        pageUrl: window.location.href,
        interactive: true,
      },
      (state, message) => {
        shown = shown.then(() => notify(Office, item, state, message));
      },
    );
    await shown;
  } finally {
    event.completed();
  }
}

Office.onReady(() => {
  // Office.actions.associate is how current Outlook finds a function command; older clients
  // look the manifest's FunctionName up as a global.
  if (Office.actions && typeof Office.actions.associate === "function") {
    Office.actions.associate("addVmr", addVmrCommand);
  }
});
window.addVmr = addVmrCommand;
