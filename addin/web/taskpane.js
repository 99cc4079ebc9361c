// The task pane: one button, one status line read out by screen readers (a polite live region),
// and the reserved VMR's details after success. The logic is in src/addvmr.js.

import { addVmr, loadConfig, STATES } from "./src/addvmr.js";

const CONFIG_URL = new URL("config.json", window.location.href).toString();
const $ = (id) => document.getElementById(id);

let config = null;
let busy = false;

function show(state, message) {
  $("status").dataset.state = state;
  $("status-text").textContent = message;
  $("add-vmr").disabled = state === STATES.WORKING;
  $("add-vmr").setAttribute("aria-busy", String(state === STATES.WORKING));
}

function showDetails(reservation) {
  const details = $("details");
  if (!reservation) {
    details.hidden = true;
    return;
  }
  $("detail-alias").textContent = reservation.alias || "";
  $("detail-numeric").textContent = reservation.numeric_alias || "";
  const link = $("detail-link");
  link.textContent = reservation.join_url || "";
  if (/^https:\/\//i.test(reservation.join_url || "")) {
    link.href = reservation.join_url;
  } else {
    link.removeAttribute("href");
  }
  details.hidden = false;
}

function applyLabels(labels) {
  if (!labels) {
    return;
  }
  if (labels.button) {
    $("add-vmr").textContent = labels.button;
  }
  if (labels.pane_title) {
    $("pane-title").textContent = labels.pane_title;
    document.title = labels.pane_title;
  }
}

async function onClick() {
  if (busy) {
    return;
  }
  busy = true;
  showDetails(null);
  try {
    const result = await addVmr(
      {
        office: Office,
        item: Office.context.mailbox.item,
        msal: window.msal,
        fetch: window.fetch.bind(window),
        random: window.crypto,
        storage: window.localStorage,
        configUrl: CONFIG_URL,
        pageUrl: window.location.href,
        config,
        interactive: true,
      },
      show,
    );
    showDetails(result.state === STATES.SUCCESS ? result.reservation : null);
  } finally {
    busy = false;
  }
}

Office.onReady(async () => {
  $("add-vmr").addEventListener("click", onClick);
  const loaded = await loadConfig({
    fetch: window.fetch.bind(window),
    configUrl: CONFIG_URL,
    storage: window.localStorage,
  });
  // When config.json cannot be read now, a click tries again (and falls back to the placeholder).
  config = loaded.reachable ? loaded.config : null;
  applyLabels(loaded.config && loaded.config.labels);
  $("add-vmr").disabled = false;
  show("idle", "Ready. Nothing is added until you press the button.");
});
