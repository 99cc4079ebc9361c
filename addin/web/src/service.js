// Talking to the vmrsched service: its public config.json and POST /api/v1/reservations.

/** How long the add-in waits for the service before it calls it unreachable. */
export const TIMEOUT_MS = 15000;

/** Statuses that mean "the service, or what stands in front of it, is down": placeholder path. */
const DOWN = new Set([502, 503, 504]);

/** A failed call: `kind` is "unreachable" (placeholder path) or "refused" (show `message`). */
export class ServiceError extends Error {
  constructor(kind, message, { status = 0, code = "" } = {}) {
    super(message);
    this.name = "ServiceError";
    this.kind = kind;
    this.status = status;
    this.code = code;
  }
}

async function send(fetchFn, url, init, timeoutMs) {
  const controller = typeof AbortController === "function" ? new AbortController() : null;
  const timer = controller ? setTimeout(() => controller.abort(), timeoutMs) : null;
  try {
    return await fetchFn(url, { ...init, signal: controller ? controller.signal : undefined });
  } catch (error) {
    throw new ServiceError("unreachable", `the VMR service could not be reached (${error.message})`);
  } finally {
    if (timer) {
      clearTimeout(timer);
    }
  }
}

async function jsonOf(response) {
  try {
    return await response.json();
  } catch {
    return null;
  }
}

/**
 * The add-in's configuration from `url` (config.json next to the page).
 * @returns {Promise<object>}
 */
export async function fetchConfig(fetchFn, url, { timeoutMs = TIMEOUT_MS } = {}) {
  const response = await send(fetchFn, url, { headers: { Accept: "application/json" } }, timeoutMs);
  const config = response.ok ? await jsonOf(response) : null;
  if (!config || typeof config !== "object") {
    throw new ServiceError("unreachable", `the add-in's settings could not be read (HTTP ${response.status})`, {
      status: response.status,
    });
  }
  return config;
}

/** The reservations URL under the service's `api_base` (with or without a trailing slash). */
export function reservationsUrl(apiBase, pageUrl) {
  const base = new URL(apiBase || "/", pageUrl);
  const path = base.pathname.replace(/\/+$/, "");
  return new URL(`${path}/api/v1/reservations`, base).toString();
}

/**
 * Reserve a VMR for the signed-in user.
 * @param {object} details `{subject?, start?, end?}` hints for the service
 * @returns {Promise<object>} the reservation (alias, instructions, location, resource_mailbox...)
 */
export async function reserveVmr(fetchFn, url, accessToken, details, { timeoutMs = TIMEOUT_MS } = {}) {
  const response = await send(
    fetchFn,
    url,
    {
      method: "POST",
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        Authorization: `Bearer ${accessToken}`,
      },
      body: JSON.stringify(details || {}),
    },
    timeoutMs,
  );
  const body = await jsonOf(response);
  if (response.status === 201 || response.status === 200) {
    if (!body || !body.instructions || !body.instructions.html) {
      throw new ServiceError("refused", "the VMR service answered without joining instructions", {
        status: response.status,
      });
    }
    return body;
  }
  const message = body && typeof body.message === "string" ? body.message : "";
  const code = body && typeof body.error === "string" ? body.error : "";
  if (DOWN.has(response.status)) {
    throw new ServiceError("unreachable", message || `the VMR service is unavailable (HTTP ${response.status})`, {
      status: response.status,
      code,
    });
  }
  throw new ServiceError("refused", message || `the VMR service answered HTTP ${response.status}`, {
    status: response.status,
    code,
  });
}
