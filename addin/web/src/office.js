// Office.js's callback style (`xxxAsync(..., callback)` with an AsyncResult) as promises.
//
// Every call into the Outlook item goes through `call`, so a failure carries Office's own
// message and the add-in can say in plain words what went wrong.

/** Office's "succeeded" status, also when Office.AsyncResultStatus is not loaded (tests). */
const SUCCEEDED = "succeeded";

/** The error raised when an Office call fails; `message` is Office's text. */
export class OfficeCallError extends Error {
  constructor(what, error) {
    const detail = error && error.message ? error.message : String(error || "unknown error");
    super(`${what} failed: ${detail}`);
    this.name = "OfficeCallError";
    this.code = error && error.code;
  }
}

/**
 * Call `target[method](...args, callback)` and resolve with the AsyncResult's value.
 * @param {object} target an Office object such as `item.body`
 * @param {string} method the method name, e.g. "getAsync"
 * @param {...any} args the arguments before the callback
 * @returns {Promise<any>}
 */
export function call(target, method, ...args) {
  return new Promise((resolve, reject) => {
    if (!target || typeof target[method] !== "function") {
      reject(new OfficeCallError(method, { message: "not supported by this Outlook" }));
      return;
    }
    try {
      target[method](...args, (result) => {
        if (result && String(result.status).toLowerCase() === SUCCEEDED) {
          resolve(result.value);
        } else {
          reject(new OfficeCallError(method, result && result.error));
        }
      });
    } catch (error) {
      reject(new OfficeCallError(method, error));
    }
  });
}

/** Office.CoercionType.Html / .Text, with their documented string values as a fallback. */
export function coercion(office, kind) {
  const types = (office && office.CoercionType) || {};
  return kind === "html" ? types.Html || "html" : types.Text || "text";
}
