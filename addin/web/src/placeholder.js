// The placeholder inserted when the VMR service cannot be reached: the meeting still gets a VMR
// later, because the service books one when it sees a placeholder token (the engine's placeholder
// flow). The token is made here, in the browser: `VMRP:-` + 32 characters from A-Z0-9 + `#`.

export const PLACEHOLDER_PREFIX = "VMRP:-";
export const MARKER = "{{placeholder_token}}";
const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const LENGTH = 32;
// The largest multiple of 36 below 256: bytes from here up are drawn again, so every character is
// equally likely (no modulo bias).
const LIMIT = 256 - (256 % ALPHABET.length);

/** The class of the block vmrsched later replaces whole with the real instructions. */
export const BLOCK_CLASS = "vmrsched-placeholder";

/**
 * What is inserted when config.json could not be read either: the service's own placeholder
 * block (`vmrsched.domain.instructions.placeholder_block` with the default template).
 */
export const FALLBACK_TEMPLATE = {
  html:
    `<div class="${BLOCK_CLASS}">\n` +
    "<div style=\"font-family:'Segoe UI',Arial,sans-serif;font-size:11pt\">\n" +
    '<p style="margin:0 0 8px 0"><b>Video meeting details will follow</b></p>\n' +
    '<p style="margin:0">This meeting will get its own video meeting room shortly. Everyone ' +
    "invited will receive an update with the joining details; there is nothing else to do.</p>\n" +
    "</div>\n" +
    `<p style="margin:0;font-size:8pt;color:#808080">${MARKER}</p>\n</div>`,
  text:
    "Video meeting details will follow\n\nThis meeting will get its own video meeting room " +
    "shortly. Everyone invited will receive an update with the joining details; there is " +
    `nothing else to do.\n\n${MARKER}`,
};

/**
 * A fresh placeholder token from a Web Crypto object (`crypto` in browsers and in node).
 * @param {{getRandomValues: (a: Uint8Array) => Uint8Array}} random
 */
export function placeholderToken(random) {
  if (!random || typeof random.getRandomValues !== "function") {
    throw new Error("this browser offers no secure random numbers (crypto.getRandomValues)");
  }
  let out = "";
  while (out.length < LENGTH) {
    const bytes = random.getRandomValues(new Uint8Array(LENGTH * 2));
    for (const byte of bytes) {
      if (byte < LIMIT && out.length < LENGTH) {
        out += ALPHABET[byte % ALPHABET.length];
      }
    }
  }
  return `${PLACEHOLDER_PREFIX}${out}#`;
}

/**
 * The placeholder text with `token` in place of the marker. A template without the marker gets
 * the token added inside one placeholder block, so the placeholder is never inserted without one.
 * @param {{html?: string, text?: string} | undefined} template config.json's `placeholder`
 */
export function fillPlaceholder(template, token) {
  const chosen = template && template.html ? template : FALLBACK_TEMPLATE;
  const text = chosen.text || FALLBACK_TEMPLATE.text;
  const html = chosen.html.includes(MARKER)
    ? chosen.html.split(MARKER).join(token)
    : `<div class="${BLOCK_CLASS}">${chosen.html}<p>${token}</p></div>`;
  return {
    html,
    text: text.includes(MARKER) ? text.split(MARKER).join(token) : `${text}\n\n${token}`,
  };
}
