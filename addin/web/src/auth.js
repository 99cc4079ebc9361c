// Signing the user in: MSAL.js nested app authentication (Microsoft 365), or the Exchange
// identity token on-premises (`auth.kind` in config.json says which).

import { call } from "./office.js";

/** A sign-in that failed; `message` is in plain words. */
export class SignInError extends Error {
  constructor(message) {
    super(message);
    this.name = "SignInError";
  }
}

/** MSAL error codes in plain words (the code stays in brackets for the help desk). */
const PLAIN = {
  user_cancelled: "the sign-in window was closed before signing in finished",
  popup_window_error: "the sign-in window could not open; allow pop-ups for Outlook and try again",
  empty_window_error: "the sign-in window could not open; allow pop-ups for Outlook and try again",
  consent_required: "your organization has not allowed this add-in to sign you in yet; ask your administrator",
  interaction_required: "you need to sign in again",
  login_required: "you need to sign in first",
  no_network_connectivity: "there is no network connection",
  network_error: "the sign-in service could not be reached",
};

/** Why a sign-in failed, in plain words. */
export function signInReason(error) {
  const code = String((error && (error.errorCode || error.code)) || "");
  if (PLAIN[code]) {
    return `${PLAIN[code]} (${code})`;
  }
  return (error && error.message) || String(error);
}

let cachedApp = null;
let cachedKey = "";

function application(msal, auth) {
  const key = `${auth.client_id}|${auth.authority}`;
  if (!cachedApp || cachedKey !== key) {
    cachedKey = key;
    cachedApp = msal.createNestablePublicClientApplication({
      auth: { clientId: auth.client_id, authority: auth.authority },
    });
  }
  return cachedApp;
}

/** Forget the MSAL application (tests, and a config change). */
export function resetSignIn() {
  cachedApp = null;
  cachedKey = "";
}

async function naaToken(msal, auth, { interactive }) {
  if (!msal || typeof msal.createNestablePublicClientApplication !== "function") {
    throw new SignInError("the sign-in library (MSAL.js) did not load");
  }
  if (!auth.client_id || !Array.isArray(auth.scopes) || auth.scopes.length === 0) {
    throw new SignInError("the add-in's sign-in settings are incomplete (client_id, scopes)");
  }
  const app = await application(msal, auth);
  const request = { scopes: auth.scopes };
  let silentError = null;
  try {
    const result = await app.acquireTokenSilent(request);
    if (result && result.accessToken) {
      return result.accessToken;
    }
  } catch (error) {
    silentError = error;
  }
  if (!interactive) {
    const why = silentError ? ` (${signInReason(silentError)})` : "";
    throw new SignInError(`you need to sign in first: open the VMR pane${why}`);
  }
  // As Microsoft's NAA samples do: any silent failure is followed by an interactive sign-in.
  try {
    const result = await app.acquireTokenPopup(request);
    return result.accessToken;
  } catch (error) {
    throw new SignInError(`signing in failed: ${signInReason(error)}`);
  }
}

/**
 * Which sign-in this Outlook uses: `auth.kind` from config.json, except that a hybrid
 * organization's `fallback` (Exchange identity tokens) is used where Outlook has no nested app
 * authentication (Outlook on the web of Exchange Server, older Outlook).
 */
export function signInKind(office, auth) {
  const kind = (auth && auth.kind) || "naa";
  if (kind === "naa" && auth && auth.fallback === "exchange_identity" && !naaSupported(office)) {
    return "exchange_identity";
  }
  return kind;
}

function naaSupported(office) {
  const requirements = office && office.context && office.context.requirements;
  if (!requirements || typeof requirements.isSetSupported !== "function") {
    return true; // cannot tell: try NAA, which says plainly when it is missing
  }
  return Boolean(requirements.isSetSupported("NestedAppAuth", "1.1"));
}

/**
 * Sign the user in for the VMR service.
 * @param {object} context `{office, msal, auth, interactive}`: `interactive` allows a sign-in popup
 * @returns {Promise<{token: string, kind: string}>} `kind` "exchange_identity" means the token
 *   names no e-mail address, so the request must name the organizer
 */
export async function signIn({ office, msal, auth, interactive = true }) {
  const kind = signInKind(office, auth);
  if (kind === "exchange_identity") {
    try {
      return { token: await call(office.context.mailbox, "getUserIdentityTokenAsync"), kind };
    } catch (error) {
      throw new SignInError(`Exchange did not give an identity token: ${error.message}`);
    }
  }
  if (kind !== "naa") {
    throw new SignInError(`unknown sign-in kind ${JSON.stringify(kind)} in the add-in's settings`);
  }
  return { token: await naaToken(msal, auth, { interactive }), kind };
}

/** An access token for the VMR service (see `signIn`). */
export async function accessToken(context) {
  return (await signIn(context)).token;
}
