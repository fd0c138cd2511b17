import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { create } from 'xmlbuilder2';

/**
 * The sandbox's XML: reading requests safely and writing answers.
 *
 * A sandbox must not be a bomb target either: any `<!DOCTYPE` or `<!ENTITY` is refused before
 * parsing, the document must be well-formed (`XMLValidator`), and the parser runs with entity
 * processing off; only the five predefined entities and character references are decoded, by
 * our own code. Values stay strings (`parseTagValue: false`), so a card number is never a float.
 */

/** Why a request body could not be read (the message names no content). */
export class XmlRefused extends Error {
  override readonly name = 'XmlRefused';
}

const DTD = /<!(?:DOCTYPE|ENTITY)/i;
const ENTITY = /&(?:(lt|gt|amp|quot|apos)|#(\d{1,7})|#x([0-9a-fA-F]{1,6}));/g;
const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function decode(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(ENTITY, (whole, name: string | undefined, decimal: string | undefined, hex: string | undefined) => {
    if (name !== undefined) return PREDEFINED[name] ?? whole;
    const point = decimal !== undefined ? Number(decimal) : Number.parseInt(hex ?? '', 16);
    return point > 0 && point <= 0x10ffff ? String.fromCodePoint(point) : whole;
  });
}

const parser = new XMLParser({
  processEntities: false,
  htmlEntities: false,
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  tagValueProcessor: (_name, value) => decode(value),
  attributeValueProcessor: (_name, value) => decode(value),
});

/** Parses a request document and returns its root element's content, refusing DTDs and malformed XML. */
export function readRequestXml(text: string): unknown {
  if (DTD.test(text)) throw new XmlRefused('DOCTYPE and ENTITY declarations are not accepted');
  if (!/^\s*</.test(text) || XMLValidator.validate(text) !== true) throw new XmlRefused('the body is not well-formed XML');
  const document = parser.parse(text) as Record<string, unknown>;
  const roots = Object.keys(document);
  if (roots.length !== 1 || roots[0] !== 'request') throw new XmlRefused('the root element must be <request>');
  return document.request;
}

/** An answer element: text, or text with a currency attribute (amounts). */
export type AnswerValue = string | { readonly value: string; readonly currency: string };

/** Writes `<response>` with `fields` as child elements, in order (undefined fields are left out). */
export function writeResponseXml(fields: Record<string, AnswerValue | undefined>): string {
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('response');
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    if (typeof value === 'string') root.ele(name).txt(value);
    else root.ele(name, { currency: value.currency }).txt(value.value);
  }
  return `${root.end({ prettyPrint: true })}\n`;
}
