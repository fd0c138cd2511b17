import type { XMLParser } from 'fast-xml-parser';
import { TransportError } from '../transport-errors.ts';
import { lazyImport } from './lazy.ts';

/**
 * Reading XML from a provider safely. Provider answers are untrusted input, so:
 *
 * - no DTDs and no entities: any `<!DOCTYPE` or `<!ENTITY` anywhere in the text is refused
 *   *before* parsing (`PROVIDER_BAD_RESPONSE`), with one linear scan, so an XML bomb (billion
 *   laughs, quadratic blow-up) costs no more than reading its bytes; and the parser runs with
 *   `processEntities: false` besides. Only the five predefined entities (`&lt;` `&gt;` `&amp;`
 *   `&quot;` `&apos;`) and character references are decoded, one for one, by our own code.
 * - well-formedness is checked (`XMLValidator`) before parsing; messages give the validator's
 *   error code and line, never its text (which quotes names from the document).
 * - an HTML page (root `<html>`) is not an answer, even when well-formed.
 * - text and attribute values stay strings (`parseTagValue: false`): `0042` is an id, not 42,
 *   and a long digit string is a card number, not a float.
 *
 * The parsed form is fast-xml-parser's: an element is an object of its children; attributes are
 * `@_name`; repeated elements become arrays; an element with text only is its text; mixed text
 * is `#text`.
 *
 * fast-xml-parser is imported when the first document is read or checked (`lazy.ts`), hence the
 * promises.
 */

const loadFastXmlParser = lazyImport(() => import('fast-xml-parser'));

const DTD_DECLARATION = /<!(?:DOCTYPE|ENTITY)/i;
const PREDEFINED_ENTITY = /&(?:(lt|gt|amp|quot|apos)|#(\d{1,7})|#x([0-9a-fA-F]{1,6}));/g;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes the predefined XML entities and character references in `text` (anything else stays as written). */
export function decodePredefinedEntities(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(PREDEFINED_ENTITY, (whole, name: string | undefined, decimal: string | undefined, hex: string | undefined) => {
    if (name !== undefined) return PREDEFINED[name] ?? whole;
    const point = decimal !== undefined ? Number(decimal) : Number.parseInt(hex ?? '', 16);
    return point > 0 && point <= 0x10ffff ? String.fromCodePoint(point) : whole;
  });
}

/** How to read an answer. */
export interface XmlReadOptions {
  /** Drop namespace prefixes from element and attribute names (`soap:Body` → `Body`). */
  readonly removeNamespacePrefixes: boolean;
}

function makeParser(Parser: typeof XMLParser, options: XmlReadOptions): XMLParser {
  return new Parser({
    processEntities: false,
    htmlEntities: false,
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    ignoreDeclaration: true,
    ignorePiTags: true,
    removeNSPrefix: options.removeNamespacePrefixes,
    tagValueProcessor: (_name, value) => decodePredefinedEntities(value),
    attributeValueProcessor: (_name, value) => decodePredefinedEntities(value),
  });
}

const parsers = new Map<boolean, XMLParser>();

/**
 * Parses the provider answer `raw` (already known to be text) after the safety checks above;
 * throws `PROVIDER_BAD_RESPONSE` naming `host` and the problem, never the content.
 */
export async function readXml(raw: string, host: string, status: number, options: XmlReadOptions): Promise<Record<string, unknown>> {
  const text = raw.replace(/^\uFEFF/, '');
  if (DTD_DECLARATION.test(text)) {
    throw badXml(host, status, 'answered with a DOCTYPE or entity declaration (DTDs and entities are refused)');
  }
  if (!/^\s*</.test(text)) throw badXml(host, status, 'answered with something that is not XML');
  const { XMLParser: Parser, XMLValidator } = await loadFastXmlParser();
  const validation = XMLValidator.validate(text);
  if (validation !== true) {
    const { code, line } = validation.err;
    throw badXml(host, status, `answered with malformed XML (${code} at line ${line})`);
  }
  let parser = parsers.get(options.removeNamespacePrefixes);
  if (!parser) {
    parser = makeParser(Parser, options);
    parsers.set(options.removeNamespacePrefixes, parser);
  }
  const document = parser.parse(text) as Record<string, unknown>;
  const roots = Object.keys(document);
  if (roots.length !== 1) throw badXml(host, status, 'answered with XML that has no single root element');
  if (/^(?:\w+:)?html$/i.test(roots[0] ?? '')) throw badXml(host, status, 'answered with an HTML page, not XML');
  return document;
}

/** Whether `text` is well-formed XML (for checking documents a plugin is about to send). */
export async function isWellFormedXml(text: string): Promise<boolean> {
  const { XMLValidator } = await loadFastXmlParser();
  return XMLValidator.validate(text) === true;
}

function badXml(host: string, status: number, problem: string): TransportError {
  return new TransportError('PROVIDER_BAD_RESPONSE', `provider ${host} ${problem}`, { status });
}
