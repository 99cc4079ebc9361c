// The MSAL nested-app-authentication stand-in for the browser test (an init script: it runs
// before the page's own scripts). The real vendored MSAL.js still loads from vmrsched; its
// createNestablePublicClientApplication is replaced by one whose acquireTokenSilent asks the
// test (window.vmrTestToken, a Playwright binding) for a user token that exchangesim's token
// endpoint issues over HTTP, as Outlook's broker would hand MSAL one.
(function () {
  "use strict";
  const naa = { created: [], silent: [], popup: [], realLoaded: false, mode: "ok" };
  window.__naa = naa;
  let real;
  const fake = async (configuration) => {
    naa.created.push(configuration);
    return {
      async acquireTokenSilent(request) {
        naa.silent.push(request);
        const token = await window.vmrTestToken(configuration.auth.clientId, request.scopes, naa.mode);
        return { accessToken: token, scopes: request.scopes, tokenType: "Bearer" };
      },
      async acquireTokenPopup(request) {
        naa.popup.push(request);
        throw new Error("popup_window_error: no popups in this test");
      },
    };
  };
  Object.defineProperty(window, "msal", {
    configurable: true,
    get() {
      if (!real) return undefined;
      naa.realLoaded = typeof real.createNestablePublicClientApplication === "function";
      return new Proxy(real, {
        get: (target, name) => (name === "createNestablePublicClientApplication" ? fake : target[name]),
      });
    },
    set(value) { real = value; },
  });
})();
