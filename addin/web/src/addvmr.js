// "Add a VMR": the one action of the task pane and of the ribbon's one-click command.
//
// working → (already assigned | error | success | unreachable: placeholder inserted)
// Each state comes with a sentence in plain words for the organizer.

import { signIn, SignInError } from "./auth.js";
import { findExisting } from "./detect.js";
import { addLocation, addToBody, ensureAttendee, readBody, readDetails, readOrganizer } from "./item.js";
import { fillPlaceholder, placeholderToken } from "./placeholder.js";
import { fetchConfig, reservationsUrl, reserveVmr, ServiceError } from "./service.js";

export const STATES = Object.freeze({
  WORKING: "working",
  SUCCESS: "success",
  ALREADY: "already",
  ERROR: "error",
  UNREACHABLE: "unreachable",
});

/** Where the last config.json read is kept, for when the service is down later. */
export const CONFIG_KEY = "vmrsched.addin.config";

export const MESSAGES = Object.freeze({
  working: "Adding a video meeting room…",
  success: (alias, mailbox) =>
    `Video meeting room ${alias} added. The joining details are in the invitation` +
    (mailbox ? ` and ${mailbox} is invited to book the room when you send it.` : "."),
  alreadyVmr: "This meeting already has a video meeting room. Nothing was changed.",
  alreadyPlaceholder:
    "This meeting already has a placeholder for a video meeting room; it gets the room after " +
    "you send it. Nothing was changed.",
  alreadyDamaged:
    "This meeting has a damaged video meeting room reference (VMRS:-…). Delete the old joining " +
    "details, then try again. Nothing was changed.",
  alreadyProvider: (provider) =>
    `This meeting already has ${provider} joining details. Remove them first if you want a ` +
    "video meeting room instead. Nothing was changed.",
  error: (reason) => `Could not add a video meeting room: ${reason} Nothing was changed.`,
  unfinished: (reason) =>
    `The video meeting room was reserved but could not be added completely: ${reason} ` +
    "Check the invitation before you send it.",
  unreachable:
    "The video meeting service could not be reached, so a placeholder was added. The meeting " +
    "gets its video meeting room after you send it.",
  unreachableNoMailbox:
    "The video meeting service could not be reached, so a placeholder was added. Invite the " +
    "video meeting room mailbox before you send the meeting so that it gets its room.",
});

function sentence(text) {
  const trimmed = String(text || "").trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

/** Read config.json, remembering it; when it cannot be read, the last one remembered (or null). */
export async function loadConfig({ fetch: fetchFn, configUrl, storage }) {
  try {
    const config = await fetchConfig(fetchFn, configUrl);
    try {
      storage?.setItem(CONFIG_KEY, JSON.stringify(config));
    } catch {
      // storage may be full or blocked; the config is still used now
    }
    return { config, reachable: true };
  } catch (error) {
    let remembered = null;
    try {
      const text = storage?.getItem(CONFIG_KEY);
      remembered = text ? JSON.parse(text) : null;
    } catch {
      remembered = null;
    }
    return { config: remembered, reachable: false, error };
  }
}

async function insertPlaceholder(env, config, body) {
  const { office, item, random } = env;
  const token = placeholderToken(random);
  const block = fillPlaceholder(config && config.placeholder, token);
  await addToBody(office, item, body, block);
  const mailbox = config && config.resource_mailbox;
  if (mailbox) {
    await ensureAttendee(item, mailbox);
  }
  return { token, mailbox };
}

/**
 * Add a VMR to the appointment being composed.
 * @param {object} env `{office, item, msal, fetch, random, storage, configUrl, pageUrl, config,
 *   interactive}`; `config` is a config.json already read (else it is read from `configUrl`)
 * @param {(state: string, message: string) => void} onState told of every state, first "working"
 * @returns {Promise<{state: string, message: string, reservation?: object, placeholder?: string}>}
 */
export async function addVmr(env, onState = () => {}) {
  const finish = (state, message, extra = {}) => {
    onState(state, message);
    return { state, message, ...extra };
  };
  onState(STATES.WORKING, MESSAGES.working);
  const { office, item } = env;
  let body;
  try {
    body = await readBody(office, item);
  } catch (error) {
    return finish(STATES.ERROR, MESSAGES.error(sentence(`Outlook did not let the add-in read the meeting (${error.message})`)));
  }
  const existing = findExisting(body.content);
  if (existing) {
    const message = {
      vmr: MESSAGES.alreadyVmr,
      placeholder: MESSAGES.alreadyPlaceholder,
      damaged: MESSAGES.alreadyDamaged,
    }[existing.kind] || MESSAGES.alreadyProvider(existing.provider);
    return finish(STATES.ALREADY, message, { existing });
  }

  let config = env.config || null;
  let reservation = null;
  try {
    if (!config) {
      const loaded = await loadConfig(env);
      config = loaded.config;
      if (!loaded.reachable) {
        throw loaded.error;
      }
    }
    const { token, kind } = await signIn({
      office,
      msal: env.msal,
      auth: config.auth || {},
      interactive: env.interactive !== false,
    });
    const details = await readDetails(item);
    if (kind === "exchange_identity") {
      details.organizer = await readOrganizer(office, item);
    }
    const url = reservationsUrl(config.api_base, env.pageUrl || env.configUrl);
    reservation = await reserveVmr(env.fetch, url, token, details);
  } catch (error) {
    if (error instanceof ServiceError && error.kind === "unreachable") {
      try {
        const placed = await insertPlaceholder(env, config, body);
        const message = placed.mailbox ? MESSAGES.unreachable : MESSAGES.unreachableNoMailbox;
        return finish(STATES.UNREACHABLE, message, { placeholder: placed.token, reason: error.message });
      } catch (placing) {
        return finish(STATES.ERROR, MESSAGES.error(sentence(`the service could not be reached and the placeholder could not be added (${placing.message})`)));
      }
    }
    if (error instanceof ServiceError || error instanceof SignInError) {
      return finish(STATES.ERROR, MESSAGES.error(sentence(error.message)), { code: error.code });
    }
    return finish(STATES.ERROR, MESSAGES.error(sentence(error.message || String(error))));
  }

  try {
    await addToBody(office, item, body, reservation.instructions);
    await addLocation(item, reservation.location);
    const mailbox = reservation.resource_mailbox || config.resource_mailbox;
    await ensureAttendee(item, mailbox);
    return finish(STATES.SUCCESS, MESSAGES.success(reservation.alias, mailbox), { reservation });
  } catch (error) {
    return finish(STATES.ERROR, MESSAGES.unfinished(sentence(`Outlook did not let the add-in change the meeting (${error.message})`)));
  }
}
