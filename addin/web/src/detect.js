// What a meeting's body already carries: a VMR of ours, or another provider's join details.
//
// A body that has one gets no second set of join details (peers' users complained about Teams
// details added beside a VMR). The alias token format is vmrsched's (src/vmrsched/domain/tokens.py):
// signed `VMRS:-<32 base32>.<24 base32>#`, placeholder `VMRP:-<16..64 letters or digits>#`.

/** Markup and invisible characters Outlook may put inside a token, removed before matching. */
const TAGS = /<[^>]*>/g;
const INVISIBLE = /[\s\u00ad\u200b\u200c\u200d\u2060\ufeff]+/g;
const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&nbsp;": " " };

const SIGNED = /VMRS:-[A-Z2-7]{32}\.[A-Z2-7]{24}#/i;
const PLACEHOLDER = /VMRP:-[A-Z0-9]{16,64}#/i;
// Our prefix without a whole token after it: joining details damaged by editing or forwarding.
const PREFIX = /VMR[SP]:-/i;

/** Other providers' join links (host and path as each provider publishes them). */
const PROVIDERS = [
  { name: "Microsoft Teams", pattern: /teams\.microsoft\.com\/l\/meetup-join\//i },
  { name: "Microsoft Teams", pattern: /teams\.live\.com\/meet\//i },
  { name: "Zoom", pattern: /(?:^|[./])zoom\.us\/(?:j|my|w)\//i },
  { name: "Zoom", pattern: /(?:^|[./])zoomgov\.com\/j\//i },
  { name: "Webex", pattern: /(?:^|[./])webex\.com\/(?:meet\/|[^\s"'<>]*j\.php)/i },
  { name: "Google Meet", pattern: /meet\.google\.com\/[a-z]{3}-[a-z]{4}-[a-z]{3}/i },
];

/** The body as plain text: tags removed, common entities decoded. */
export function plainText(body) {
  return String(body || "")
    .replace(TAGS, " ")
    .replace(/&(?:amp|lt|gt|quot|#39|nbsp);/g, (entity) => ENTITIES[entity]);
}

/**
 * What the body already has, or null.
 * @param {string} body the body as HTML or text
 * @returns {{kind: "vmr"|"placeholder"|"damaged"|"provider", provider?: string, token?: string} | null}
 */
export function findExisting(body) {
  const text = plainText(body);
  const compact = text.replace(INVISIBLE, "");
  const signed = compact.match(SIGNED);
  if (signed) {
    return { kind: "vmr", token: signed[0] };
  }
  const placeholder = compact.match(PLACEHOLDER);
  if (placeholder) {
    return { kind: "placeholder", token: placeholder[0] };
  }
  if (PREFIX.test(compact)) {
    // A second, whole token beside a damaged one would leave the service two to choose from.
    return { kind: "damaged" };
  }
  // Links are matched in the markup too: an anchor's href may be the only place the URL is.
  for (const provider of PROVIDERS) {
    if (provider.pattern.test(String(body || "")) || provider.pattern.test(text)) {
      return { kind: "provider", provider: provider.name };
    }
  }
  return null;
}
