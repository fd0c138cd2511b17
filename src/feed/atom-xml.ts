/**
 * A small, strict XML reader for the Atom module: fast-xml-parser's tokens with entities,
 * namespaces and the refusals done here, so that nothing a client sends can expand entities,
 * reach the file system or the network, or be read two ways.
 *
 * - DOCTYPE and ENTITY declarations and processing instructions (other than the XML declaration)
 *   are refused before parsing: Atom needs none, and they carry entity-expansion and external-entity
 *   attacks.
 * - Character and the five predefined entity references are decoded in one pass (so `&amp;lt;`
 *   is `&lt;`, never `<`); any other reference is an error. CDATA is taken verbatim.
 * - Namespaces are resolved from `xmlns`/`xmlns:p` declarations, so a client may use any prefix.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { FeedProtocolError } from './protocol-errors.ts';

/** An element with its namespace resolved, attributes decoded, and children in document order. */
export interface XmlElement {
  readonly ns: string | undefined;
  readonly local: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly children: readonly (XmlElement | string)[];
}

type RawNode = Record<string, unknown>;

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  trimValues: false,
  parseTagValue: false,
  parseAttributeValue: false,
  processEntities: false,
  htmlEntities: false,
  ignoreDeclaration: true,
  cdataPropName: '#cdata',
  commentPropName: '#comment',
});

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Parses `xml` (refusing what the module doc lists) into its root element. */
export function parseXmlTree(xml: string, maxBytes: number): XmlElement {
  if (Buffer.byteLength(xml, 'utf8') > maxBytes) {
    throw new FeedProtocolError('FEED_ENTRY_TOO_LARGE', `the document is larger than ${maxBytes} bytes`);
  }
  const text = xml.startsWith('\uFEFF') ? xml.slice(1) : xml;
  refuseDeclarations(text);
  const valid = XMLValidator.validate(text);
  if (valid !== true) {
    throw new FeedProtocolError('FEED_BAD_XML', `not well-formed XML: ${withoutQuoted(valid.err.msg)} (line ${valid.err.line}, column ${valid.err.col})`);
  }
  let parsed: RawNode[];
  try {
    parsed = parser.parse(text) as RawNode[];
  } catch {
    // The validator passed it: what the parser still refuses is a limit of its own (elements
    // nested deeper than it goes). Not the client's text: its message is not repeated.
    throw new FeedProtocolError('FEED_BAD_XML', 'the document cannot be read (elements nested too deeply)');
  }
  const roots = parsed.filter((n) => elementName(n) !== undefined);
  if (roots.length !== 1) throw new FeedProtocolError('FEED_BAD_XML', 'the document must have exactly one root element');
  return toElement(roots[0] as RawNode, new Map([['xml', 'http://www.w3.org/XML/1998/namespace']]));
}

/** The element children of `el`. */
export function elementsOf(el: XmlElement): XmlElement[] {
  return el.children.filter((c): c is XmlElement => typeof c !== 'string');
}

/** The text of `el` (its text and CDATA children, concatenated). */
export function textOf(el: XmlElement): string {
  return el.children.filter((c): c is string => typeof c === 'string').join('');
}

function refuseDeclarations(text: string): void {
  const markup = withoutCommentsAndCdata(text);
  if (/<!DOCTYPE|<!ENTITY|<!ELEMENT|<!ATTLIST|<!NOTATION/i.test(markup)) {
    throw new FeedProtocolError('FEED_BAD_XML', 'DOCTYPE and entity declarations are not accepted');
  }
  const declaration = /^<\?xml[ \t\r\n][^?]*\?>/.exec(markup)?.[0].length ?? 0;
  if (markup.indexOf('<?', declaration) !== -1) {
    throw new FeedProtocolError('FEED_BAD_XML', 'processing instructions are not accepted');
  }
}

/** The two sections whose text may mention anything, each with its end marker. */
const OPAQUE = [
  { start: '<!--', end: '-->', name: 'comment' },
  { start: '<![CDATA[', end: ']]>', name: 'CDATA section' },
] as const;

/**
 * `text` without its comments and CDATA sections (they may mention anything, so declarations are
 * looked for outside them), in document order and one pass: every `<!` is looked at once, and each
 * section's end is searched for once, from its start. A section that never ends is refused here:
 * a lazy regex would instead retry from every start, which is quadratic in the body's size and
 * held the event loop for minutes on one 1 MiB request.
 */
function withoutCommentsAndCdata(text: string): string {
  const kept: string[] = [];
  let from = 0;
  let at = text.indexOf('<!', from);
  while (at !== -1) {
    const section = OPAQUE.find((s) => text.startsWith(s.start, at));
    if (section === undefined) {
      at = text.indexOf('<!', at + 2);
      continue;
    }
    const end = text.indexOf(section.end, at + section.start.length);
    if (end === -1) throw new FeedProtocolError('FEED_BAD_XML', `not well-formed XML: a ${section.name} is never closed (it opens at offset ${at})`);
    kept.push(text.slice(from, at));
    from = end + section.end.length;
    at = text.indexOf('<!', from);
  }
  kept.push(text.slice(from));
  return kept.join('');
}

/**
 * The validator's message with what it quotes of the document (tag and attribute names, which a
 * client chooses and could fill with card data) replaced by `…`: the position says where.
 */
function withoutQuoted(message: string): string {
  return message.replace(/'[^']*(?:'|$)/g, "'…'").slice(0, 200);
}

function elementName(node: RawNode): string | undefined {
  return Object.keys(node).find((k) => k !== ':@' && !k.startsWith('#'));
}

function toElement(node: RawNode, scope: Map<string, string>): XmlElement {
  const name = elementName(node) as string;
  const rawAttrs = (node[':@'] ?? {}) as Record<string, string>;
  const inner = new Map(scope);
  const attrs: Record<string, string> = {};
  for (const [key, raw] of Object.entries(rawAttrs)) {
    const value = decodeText(raw);
    if (key === 'xmlns') inner.set('', value);
    else if (key.startsWith('xmlns:')) inner.set(key.slice(6), value);
    else attrs[key] = value;
  }
  const colon = name.indexOf(':');
  const prefix = colon === -1 ? '' : name.slice(0, colon);
  const ns = inner.get(prefix);
  if (prefix !== '' && ns === undefined) throw new FeedProtocolError('FEED_BAD_XML', 'an element or attribute uses an undeclared namespace prefix');
  const children: (XmlElement | string)[] = [];
  for (const c of node[name] as RawNode[]) {
    if (typeof c['#text'] === 'string') children.push(decodeText(c['#text']));
    else if (Array.isArray(c['#cdata'])) children.push((c['#cdata'] as RawNode[]).map((t) => String(t['#text'] ?? '')).join(''));
    else if (elementName(c) !== undefined) children.push(toElement(c, inner));
  }
  return { ns: ns === '' ? undefined : ns, local: colon === -1 ? name : name.slice(colon + 1), attrs, children };
}

/** Decodes character references and the five predefined entities, in one pass. */
export function decodeText(raw: string): string {
  return raw.replace(/&([^;&\s]{0,32});/g, (_, ref: string) => {
    const code = ref.startsWith('#x') ? parseInt(ref.slice(2), 16) : ref.startsWith('#') ? parseInt(ref.slice(1), 10) : undefined;
    if (code === undefined) {
      const named = PREDEFINED[ref];
      if (named === undefined) throw new FeedProtocolError('FEED_BAD_XML', 'an undefined entity reference (only &lt; &gt; &amp; &quot; &apos; and character references are accepted)');
      return named;
    }
    if (!Number.isInteger(code) || !isXmlChar(code) || !/^#(x[0-9a-fA-F]+|[0-9]+)$/.test(ref)) {
      throw new FeedProtocolError('FEED_BAD_XML', 'an invalid character reference');
    }
    return String.fromCodePoint(code);
  });
}

function isXmlChar(c: number): boolean {
  return c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}
