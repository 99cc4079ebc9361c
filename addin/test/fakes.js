// Stand-ins for what surrounds the add-in in a browser: the vmrsched service (fetch), MSAL's
// nested app authentication, and Web Storage.

export const CONFIG_URL = "https://vmr.contoso.com/addin/config.json";
export const PAGE_URL = "https://vmr.contoso.com/addin/taskpane.html";

export const CONFIG = {
  api_base: "https://vmr.contoso.com",
  resource_mailbox: "vmr@contoso.com",
  labels: { button: "Add a VMR", group: "Video meeting", pane_title: "Video meeting room" },
  auth: {
    kind: "naa",
    client_id: "6f1c3b1e-0000-4000-8000-000000000001",
    authority: "https://login.microsoftonline.com/contoso.onmicrosoft.com",
    scopes: ["api://vmr.contoso.com/6f1c3b1e-0000-4000-8000-000000000001/access_as_user"],
  },
  placeholder: {
    html: "<p><b>Video meeting details will follow</b></p><p>Reference: {{placeholder_token}}</p>",
    text: "Video meeting details will follow\nReference: {{placeholder_token}}\n",
  },
};

export const TOKEN = "VMRS:-ABCDEFGHIJKLMNOPQRSTUVWXYZ234567.ABCDEFGHIJKLMNOPQRSTUVWX#";

export const RESERVATION = {
  alias: "8112345678@vmr.contoso.com",
  numeric_alias: "8112345678",
  alias_uuid: "0f8fad5b-d9cb-469f-a165-70867728950e",
  token: TOKEN,
  join_url: "https://meet.contoso.com/webapp/m/8112345678@vmr.contoso.com",
  location: "Video meeting 8112345678",
  instructions: {
    html:
      '<div><p><b>Join the video meeting</b></p><p><a href="https://meet.contoso.com/webapp/m/' +
      '8112345678@vmr.contoso.com">https://meet.contoso.com/webapp/m/8112345678@vmr.contoso.com</a></p>' +
      `<p>Please keep this reference in the invitation: ${TOKEN}</p></div>`,
    text: `Join the video meeting\nhttps://meet.contoso.com/webapp/m/8112345678@vmr.contoso.com\n${TOKEN}\n`,
  },
  resource_mailbox: "vmr@contoso.com",
  expires_at: "2026-12-25T09:00:00+00:00",
};

function json(status, body, headers = {}) {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

/**
 * A fake vmrsched: `config` is served at CONFIG_URL; `reserve` is the answer to the POST (a
 * Response, or "down" to fail as an unreachable host does). Requests are recorded in `calls`.
 */
export function service({ config = CONFIG, reserve = json(201, RESERVATION), configDown = false } = {}) {
  const calls = [];
  const fetchFn = async (url, init = {}) => {
    calls.push({ url: String(url), method: init.method || "GET", headers: init.headers || {}, body: init.body });
    if (String(url).endsWith("/config.json")) {
      if (configDown) {
        throw new TypeError("Failed to fetch");
      }
      return json(200, config);
    }
    if (reserve === "down") {
      throw new TypeError("Failed to fetch");
    }
    if (reserve === "hang") {
      return new Promise((resolve, reject) => {
        init.signal?.addEventListener("abort", () => reject(new DOMException("The operation was aborted.", "AbortError")));
      });
    }
    return reserve.clone();
  };
  return { fetch: fetchFn, calls };
}

export { json };

/** MSAL's NAA: `silent` and `popup` are functions of the request (or errors to throw). */
export function msal({ silent = () => ({ accessToken: "user-access-token" }), popup } = {}) {
  const seen = { created: [], silent: [], popup: [] };
  const lib = {
    createNestablePublicClientApplication(configuration) {
      seen.created.push(configuration);
      return Promise.resolve({
        async acquireTokenSilent(request) {
          seen.silent.push(request);
          return silent(request);
        },
        async acquireTokenPopup(request) {
          seen.popup.push(request);
          if (!popup) {
            throw new Error("popup_window_error: the popup was blocked");
          }
          return popup(request);
        },
      });
    },
  };
  return { lib, seen };
}

/** Web Storage in memory. */
export function storage() {
  const map = new Map();
  return {
    getItem: (key) => (map.has(key) ? map.get(key) : null),
    setItem: (key, value) => map.set(key, String(value)),
    removeItem: (key) => map.delete(key),
  };
}
