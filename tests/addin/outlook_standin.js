// A stand-in for Office.js in Outlook's appointment compose form, for the browser test.
//
// The test routes https://appsforoffice.microsoft.com/lib/1/hosted/office.js to this file. It
// offers the Office.js calls the add-in makes (Mailbox requirement set 1.1-1.3 surface: body,
// location, attendees, subject, start, end, notification messages), answering asynchronously
// like Outlook does, and records the item in window.__outlook for the test to read. It also hands
// out Exchange user identity tokens (getUserIdentityTokenAsync) that exchangesim issues. The item's
// starting state comes from window.__outlookInit (set by the test before the page loads). It also
// offers MSAL.js the nested-app-authentication bridge that Office.js gives it in Outlook.
(function () {
  "use strict";
  const init = window.__outlookInit || {};
  const person = (address) => ({ emailAddress: address, displayName: address, recipientType: "user" });
  const state = {
    body: init.body || "",
    bodyType: init.bodyType || "html",
    location: init.location || "",
    required: (init.required || []).map(person),
    optional: (init.optional || []).map(person),
    subject: init.subject || "",
    start: new Date(init.start || Date.now() + 86400000),
    end: new Date(init.end || Date.now() + 90000000),
    notifications: [],
    calls: [],
  };
  window.__outlook = state;

  function answer(name, callback, value) {
    state.calls.push(name);
    const fail = (init.fail || {})[name];
    setTimeout(() => {
      if (typeof callback !== "function") return;
      callback(
        fail
          ? { status: "failed", error: { code: 9020, name: "GenericResponseError", message: fail } }
          : { status: "succeeded", value },
      );
    }, 5);
  }
  const lastArg = (args) => args[args.length - 1];

  const item = {
    itemType: "appointment",
    body: {
      getTypeAsync(...args) { answer("body.getTypeAsync", lastArg(args), state.bodyType); },
      getAsync(coercionType, ...args) {
        // Outlook hands out the HTML of a whole document, as the add-in must expect.
        const value = coercionType === "html" && state.bodyType === "html"
          ? `<html><head></head><body>${state.body}</body></html>`
          : state.body.replace(/<[^>]*>/g, "");
        answer("body.getAsync", lastArg(args), value);
      },
      setAsync(data, ...args) {
        const match = /<body[^>]*>([\s\S]*)<\/body>/i.exec(String(data));
        state.body = match ? match[1] : String(data);
        answer("body.setAsync", lastArg(args));
      },
    },
    location: {
      getAsync(...args) { answer("location.getAsync", lastArg(args), state.location); },
      setAsync(value, ...args) { state.location = String(value); answer("location.setAsync", lastArg(args)); },
    },
    requiredAttendees: recipients("required"),
    optionalAttendees: recipients("optional"),
    subject: { getAsync(...args) { answer("subject.getAsync", lastArg(args), state.subject); } },
    start: { getAsync(...args) { answer("start.getAsync", lastArg(args), state.start); } },
    end: { getAsync(...args) { answer("end.getAsync", lastArg(args), state.end); } },
    // Mailbox 1.7 in compose mode: the organizer (the calendar's owner).
    organizer: {
      getAsync(...args) {
        answer("organizer.getAsync", lastArg(args), { emailAddress: init.itemOrganizer || init.organizer || "alice@contoso.com", displayName: "" });
      },
    },
    notificationMessages: {
      replaceAsync(key, details, ...args) {
        state.notifications.push({ key, ...details });
        answer("notificationMessages.replaceAsync", lastArg(args));
      },
    },
  };

  function recipients(list) {
    return {
      getAsync(...args) { answer(`${list}.getAsync`, lastArg(args), state[list].slice()); },
      addAsync(added, ...args) {
        for (const entry of added) {
          const address = typeof entry === "string" ? entry : entry.emailAddress;
          state[list].push(person(address));
        }
        answer(`${list}.addAsync`, lastArg(args));
      },
    };
  }

  // Nested app authentication: in Outlook, Office.js offers MSAL a bridge to the host's token
  // broker (window.nestedAppAuthBridge; messages as in msal-browser's naa/BridgeProxy). This
  // broker asks the test (window.vmrTestToken, a Playwright binding) for the access token, which
  // exchangesim's token endpoint issues. The ID token MSAL also wants is made up here from the
  // access token's claims (unsigned: MSAL only reads it; vmrsched never sees it).
  const naa = { requests: [], mode: "ok" };
  window.__naa = naa;
  const listeners = [];
  const base64url = (text) =>
    btoa(unescape(encodeURIComponent(text))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  const claimsOf = (jwt) =>
    JSON.parse(decodeURIComponent(escape(atob(jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")))));

  async function broker(request) {
    const reply = { messageType: "NestedAppAuthResponse", requestId: request.requestId };
    if (request.method === "GetInitContext") {
      return { ...reply, success: true, initContext: { sdkName: "outlook-standin", sdkVersion: "1.0", capabilities: {} } };
    }
    if (request.method !== "GetToken") {
      return { ...reply, success: false, error: { status: "UserCancel", code: "user_cancelled", description: "no popups in this test" } };
    }
    if (naa.mode === "no-account") {
      // What a broker says when no one is signed in to Outlook (BridgeStatusCode.AccountUnavailable).
      return { ...reply, success: false, error: { status: "ACCOUNT_UNAVAILABLE", code: "no_account", description: "no signed-in account" } };
    }
    const params = request.tokenParams;
    const scopes = params.scope.split(" ").filter((scope) => !["openid", "profile", "offline_access", "email"].includes(scope));
    const accessToken = await window.vmrTestToken(params.clientId, scopes, naa.mode);
    const claims = claimsOf(accessToken);
    const idToken = [
      base64url(JSON.stringify({ alg: "none", typ: "JWT" })),
      base64url(JSON.stringify({
        aud: params.clientId, iss: claims.iss, tid: claims.tid, oid: claims.oid, sub: claims.oid,
        preferred_username: claims.preferred_username, name: claims.name,
        iat: claims.iat, nbf: claims.nbf, exp: claims.exp, ver: "2.0",
      })),
      "",
    ].join(".");
    return {
      ...reply,
      success: true,
      token: { access_token: accessToken, id_token: idToken, expires_in: 3600, scope: params.scope, token_type: "Bearer" },
      account: {
        homeAccountId: `${claims.oid}.${claims.tid}`,
        environment: "login.microsoftonline.com",
        tenantId: claims.tid,
        localAccountId: claims.oid,
        username: claims.preferred_username,
        name: claims.name,
      },
    };
  }

  window.nestedAppAuthBridge = {
    addEventListener(type, listener) {
      if (type === "message") listeners.push(listener);
    },
    removeEventListener(type, listener) {
      const at = listeners.indexOf(listener);
      if (at >= 0) listeners.splice(at, 1);
    },
    postMessage(message) {
      const request = JSON.parse(message);
      naa.requests.push(request);
      broker(request)
        .catch((error) => ({
          messageType: "NestedAppAuthResponse", requestId: request.requestId, success: false,
          error: { status: "TransientError", code: "broker_error", description: String(error) },
        }))
        .then((response) => {
          for (const listener of listeners.slice()) listener(JSON.stringify(response));
        });
    },
  };

  const ready = new Promise((resolve) => {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", () => resolve(), { once: true });
    } else {
      resolve();
    }
  }).then(() => ({ host: "Outlook", platform: "OfficeOnline" }));

  window.Office = {
    HostType: { Outlook: "Outlook" },
    PlatformType: { OfficeOnline: "OfficeOnline" },
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
      // init.nestedAppAuth = false stands for an Outlook without NAA (Exchange Server's).
      requirements: { isSetSupported: (name) => name === "Mailbox" || (name === "NestedAppAuth" && init.nestedAppAuth !== false) },
      mailbox: {
        item,
        // Exchange user identity token: in Outlook it comes from Exchange (EWS GetClientAccessToken,
        // CallerIdentity); here the test (window.vmrTestIdentityToken, a Playwright binding)
        // makes that same EWS call to exchangesim as the user.
        getUserIdentityTokenAsync(...args) {
          const callback = lastArg(args);
          state.calls.push("getUserIdentityTokenAsync");
          window.vmrTestIdentityToken().then(
            (value) => callback({ status: "succeeded", value }),
            (error) => callback({ status: "failed", error: { code: 9017, name: "GenericTokenError", message: String(error) } }),
          );
        },
        userProfile: { emailAddress: init.organizer || "alice@contoso.com", displayName: "Alice" },
        diagnostics: { hostName: "OutlookWebApp" },
      },
    },
    actions: {
      registered: {},
      associate(name, handler) { this.registered[name] = handler; },
    },
    onReady(callback) {
      return callback ? ready.then(callback) : ready;
    },
  };
})();
