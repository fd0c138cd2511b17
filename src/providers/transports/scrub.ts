import { maskPan } from '../../wire/index.ts';

/**
 * Building blocks for a plugin's `scrub(transcript)`: the transports hand their raw traffic to
 * the transcript hook unmasked, and the plugin's `scrub` must mask card numbers, CVCs and
 * credentials before any of it is logged or stored.
 *
 * {@link scrubTranscript} masks, in form bodies (`CVV2=123&PWD=…`), XML (`<cvv>123</cvv>`,
 * `<wsse:Password Type="…">…</wsse:Password>`, `<card cvv="123">`) and JSON (`"cvv": "123"`):
 * the value of every field whose name marks it as sensitive (see {@link isSensitiveFieldName}),
 * then every card number (`maskPan`, also inside percent-encoded form values such as
 * `4111+1111+1111+1111`). A plugin with credentials under other names passes them as
 * `extraFields` to {@link createScrub}.
 */

/** Name fragments that make a field sensitive wherever they appear in its name (`card_cvv`, `PasswordDigest`, `x-api-key`). */
const SENSITIVE_FRAGMENTS = ['cvv', 'cvc', 'password', 'passwd', 'pwd', 'signature', 'secret', 'token', 'apikey', 'securitycode', 'privatekey', 'authorization'];
/** Short names sensitive only on their own (as fragments they would hit `acid`, `spinner`, …). */
const SENSITIVE_NAMES = new Set(['cid', 'csc', 'cvn', 'pin', 'pass', 'auth', 'key']);

/** The name without namespace prefix, `_`, `-` or `.`, in lower case: `wsse:Password` → `password`, `L_API-KEY` → `lapikey`. */
function normaliseName(name: string): string {
  return name.replace(/^[\w.-]*:/, '').replace(/[_.-]/g, '').toLowerCase();
}

/** Whether a field called `name` holds a secret (card security code, password, signature, token, key). */
export function isSensitiveFieldName(name: string, extraFields: ReadonlySet<string> = new Set()): boolean {
  const normal = normaliseName(name);
  if (SENSITIVE_NAMES.has(normal) || extraFields.has(normal)) return true;
  return SENSITIVE_FRAGMENTS.some((fragment) => normal.includes(fragment));
}

const MASK = '***';
/** `<name attrs>content</name>`; content is text and CDATA sections, no child elements. */
const XML_ELEMENT = /<((?:[\w.-]+:)?[\w.-]+)(\s[^<>]*)?>((?:[^<]|<!\[CDATA\[[\s\S]*?\]\]>)*)<\/\1\s*>/g;
/** `name="value"` / `name='value'` inside a tag. */
const XML_ATTRIBUTE = /([\w.:-]+)(\s*=\s*)(["'])([^"'<>]*)\3/g;
/** `"name": "value"` or `"name": 123` in JSON. */
const JSON_MEMBER = /"([^"\\]{1,100})"(\s*:\s*)("(?:[^"\\]|\\.)*"|-?\d[\d.eE+-]*)/g;
/** `name=value` in a urlencoded body (at the start, after `&`, `?` or whitespace; up to `&`, whitespace or the end, so not an XML attribute). */
const FORM_PAIR = /(^|[&?\s])([A-Za-z0-9_.~%+-]+)=([^&\s<>"']*)(?=$|[&\s])/g;

function maskFormValue(name: string, value: string, extra: ReadonlySet<string>): string {
  let decodedName: string;
  let decoded: string;
  try {
    decodedName = decodeURIComponent(name.replace(/\+/g, ' '));
    decoded = decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return isSensitiveFieldName(name, extra) ? MASK : maskPan(value);
  }
  if (isSensitiveFieldName(decodedName, extra)) return MASK;
  const masked = maskPan(decoded);
  return masked === decoded ? value : encodeURIComponent(masked);
}

/** Masks the values of sensitive fields in `text` (forms, XML, JSON); card numbers are left to `maskPan`. */
export function maskSensitiveFields(text: string, extraFields: Iterable<string> = []): string {
  const extra = new Set([...extraFields].map(normaliseName));
  return text
    .replace(XML_ELEMENT, (whole, name: string, attributes: string | undefined, _content: string) =>
      isSensitiveFieldName(name, extra) ? `<${name}${attributes ?? ''}>${MASK}</${name}>` : whole)
    .replace(XML_ATTRIBUTE, (whole, name: string, equals: string, quote: string) =>
      isSensitiveFieldName(name, extra) ? `${name}${equals}${quote}${MASK}${quote}` : whole)
    .replace(JSON_MEMBER, (whole, name: string, colon: string) => (isSensitiveFieldName(name, extra) ? `"${name}"${colon}"${MASK}"` : whole))
    .replace(FORM_PAIR, (_whole, lead: string, name: string, value: string) => `${lead}${name}=${maskFormValue(name, value, extra)}`);
}

/** Masks sensitive fields, then card numbers: a ready `scrub` for plugins on these transports. */
export function scrubTranscript(transcript: string): string {
  return maskPan(maskSensitiveFields(transcript));
}

/** A `scrub` that also masks the fields named in `extraFields` (`['MERCHANT_KEY', 'pinBlock']`). */
export function createScrub(options: { extraFields?: readonly string[] } = {}): (transcript: string) => string {
  const extra = options.extraFields ?? [];
  return (transcript) => maskPan(maskSensitiveFields(transcript, extra));
}
