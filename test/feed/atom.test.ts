import { describe, expect, it } from 'vitest';
import { parseAtomEntry, parseAtomFeed, renderEntry, renderFeed } from '../../src/feed/atom.ts';
import { entryHash } from '../../src/feed/chain.ts';
import type { FeedEntry } from '../../src/feed/index.ts';
import { feedStores } from './support.ts';

const ctx = { publicUrl: 'https://feeds.example:8443/' };
const stores = feedStores();

/** Contents that break naive XML handling: CR/LF/tabs, markup, CDATA ends, entities, unicode. */
const TRICKY = [
  '',
  ' ',
  '\r',
  '\r\n\r\n',
  'line1\r\nline2\nline3\rline4\t\ttab',
  '<b>bold</b> & <![CDATA[x]]> ]]> &amp; &lt; &#13; &#x41;',
  '"quoted" \'single\' <?pi?> <!DOCTYPE x> <!-- c -->',
  'é 😀 \u2028\u2029 \u00a0 \uFEFF leading',
  '{"amount":"10.00","note":"a\\r\\nb","nested":{"x":[1,2,3]}}',
  '  padded on both sides  \n',
];

function entry(over: Partial<FeedEntry>): FeedEntry {
  return { id: '1-abcdefghijkl', feed: 'audit', seq: 1, time: '2026-01-01T00:00:00.000Z', title: 't', content: 'c', contentType: 'text/plain', ...over };
}

describe('Atom representation', () => {
  it.each(['text/plain', 'text/html', 'text/csv', 'application/json', 'application/octet-stream', 'application/xml'])(
    'round-trips %s content byte for byte, titles too, through a feed and an entry document',
    (contentType) => {
      const entries = TRICKY.map((content, i) => entry({ id: `${i + 1}-id${i}`, seq: i + 1, content, contentType, title: TRICKY[(i + 3) % TRICKY.length] || 'x' }));
      const parsed = parseAtomFeed(renderFeed({ name: 'audit', entries, updated: entries[0]!.time }, ctx));
      expect(parsed.feed).toBe('audit');
      expect(parsed.entries).toEqual(entries);
      for (const e of entries) {
        const back = parseAtomEntry(renderEntry(e, ctx));
        expect(back).toEqual({ title: e.title, content: e.content, contentType: e.contentType });
      }
    },
  );

  it('lets a reader recompute every chain hash from the Atom alone', () => {
    const { store } = stores.open();
    for (const [i, content] of TRICKY.entries()) {
      store.append('audit', { title: `t${i}\r\n<&>`, content, contentType: i % 2 === 0 ? 'application/json' : 'text/plain' });
    }
    const page = store.page('audit');
    const parsed = parseAtomFeed(renderFeed({ name: 'audit', entries: page.entries, updated: page.entries.at(-1)!.time }, ctx));
    expect(parsed.entries).toEqual(page.entries);
    for (const e of parsed.entries) expect(entryHash({ ...e, prevHash: e.prevHash! })).toBe(e.hash);
    expect(store.verifyChain('audit')).toEqual({ count: TRICKY.length });
  });

  it('round-trips 300 random strings of markup, whitespace, quotes and astral characters', () => {
    const pool = ['a', 'Z', '0', ' ', '\t', '\n', '\r', '<', '>', '&', '"', "'", ']]>', '&amp;', '&#13;', '<![CDATA[', 'é', '€', '😀', '\u2028', '\uFFFD', '\u00A0'];
    let seed = 42;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const text = (): string => Array.from({ length: random(40) }, () => pool[random(pool.length)]).join('');
    const entries = Array.from({ length: 300 }, (_, i) => entry({
      id: `${i + 1}-r${i}`, seq: i + 1, title: text() || 't', content: text(), contentType: ['text/plain', 'text/html', 'text/csv', 'application/json'][i % 4]!,
    }));
    expect(parseAtomFeed(renderFeed({ name: 'audit', entries, updated: entries[0]!.time }, ctx)).entries).toEqual(entries);
  });

  it.each([['a title', { title: 'bell \u0007' }], ['text content', { content: 'nul \u0000' }], ['a lone surrogate', { content: 'half \uD800' }]])(
    'refuses to render %s XML cannot carry, naming the entry and not its text',
    (_, over) => {
      expect(() => renderEntry(entry(over), ctx)).toThrowError(expect.objectContaining({
        code: 'FEED_INTERNAL_ERROR', message: expect.stringMatching(/^entry 1-abcdefghijkl of feed audit has a character XML 1.0 cannot carry/),
      }));
    },
  );

  it('writes CR as a character reference and links from the public URL', () => {
    const xml = renderEntry(entry({ content: 'a\r\nb' }), ctx);
    expect(xml).not.toContain('\r');
    expect(xml).toContain('a&#13;\nb');
    expect(xml).toContain('href="https://feeds.example:8443/feeds/audit/entries/1-abcdefghijkl"');
    expect(xml).toContain('<id>tag:paygate,2026:audit/1-abcdefghijkl</id>');
  });

  it('gives the rel=next href, keeping the page size', () => {
    const xml = renderFeed({ name: 'p', entries: [entry({ feed: 'p' })], next: '1-abcdefghijkl', updated: '2026-01-01T00:00:00.000Z', query: { pageSize: 5 } }, ctx);
    expect(parseAtomFeed(xml).next).toBe('https://feeds.example:8443/feeds/p?start_after=1-abcdefghijkl&page_size=5');
  });

  it('reads a POSTed entry with any prefix, CDATA and entity references, in one decoding pass', () => {
    const xml = '<?xml version="1.0"?><a:entry xmlns:a="http://www.w3.org/2005/Atom"><a:title>t &amp;lt;</a:title>'
      + '<a:content type="text">x&#13;&#x0A;<![CDATA[<&amp;>]]></a:content></a:entry>';
    expect(parseAtomEntry(xml)).toEqual({ title: 't &lt;', content: 'x\r\n<&amp;>', contentType: 'text/plain' });
  });

  const refused: [string, string, string][] = [
    ['billion laughs', '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]><entry xmlns="http://www.w3.org/2005/Atom"><title>&lol2;</title></entry>', 'FEED_BAD_XML'],
    ['an external entity', '<?xml version="1.0"?><!DOCTYPE e [<!ENTITY x SYSTEM "file:///etc/passwd">]><entry xmlns="http://www.w3.org/2005/Atom"><title>&x;</title></entry>', 'FEED_BAD_XML'],
    ['a processing instruction', '<?xml version="1.0"?><?xml-stylesheet href="x"?><entry xmlns="http://www.w3.org/2005/Atom"><title>t</title></entry>', 'FEED_BAD_XML'],
    ['an undefined entity', '<entry xmlns="http://www.w3.org/2005/Atom"><title>&nbsp;</title></entry>', 'FEED_BAD_XML'],
    ['malformed XML', '<entry xmlns="http://www.w3.org/2005/Atom"><title>t</entry>', 'FEED_BAD_XML'],
    ['a non-Atom root', '<entry><title>t</title></entry>', 'FEED_BAD_XML'],
    ['no title', '<entry xmlns="http://www.w3.org/2005/Atom"><content>c</content></entry>', 'FEED_BAD_ENTRY'],
    ['XHTML content', '<entry xmlns="http://www.w3.org/2005/Atom"><title>t</title><content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">x</div></content></entry>', 'FEED_BAD_ENTRY'],
    ['bad base64', '<entry xmlns="http://www.w3.org/2005/Atom"><title>t</title><content type="application/json">not base64!</content></entry>', 'FEED_BAD_ENTRY'],
    ['base64 of non-UTF-8', '<entry xmlns="http://www.w3.org/2005/Atom"><title>t</title><content type="application/octet-stream">/w==</content></entry>', 'FEED_BAD_ENTRY'],
  ];
  it.each(refused)('refuses %s with a typed error', (_, xml, code) => {
    expect(() => parseAtomEntry(xml)).toThrowError(expect.objectContaining({ code }));
  });

  it.each([
    ['a tab', '&#9;'],
    ['a line feed', '&#10;'],
    ['a carriage return', '&#13;'],
  ])('refuses a media type holding %s (written back into an XML attribute, a parser would read a space)', (_what, ref) => {
    const xml = `<entry xmlns="http://www.w3.org/2005/Atom"><title>t</title><content type="text/x;${ref}a=b">c</content></entry>`;
    expect(() => parseAtomEntry(xml)).toThrowError(expect.objectContaining({ code: 'FEED_BAD_ENTRY' }));
  });

  it('accepts a media type with parameters and spaces, and it round-trips through an entry document', () => {
    const xml = '<entry xmlns="http://www.w3.org/2005/Atom"><title>t</title><content type="text/x; a=b; c=&quot;d e&quot;">c</content></entry>';
    const parsed = parseAtomEntry(xml);
    expect(parsed.contentType).toBe('text/x; a=b; c="d e"');
    const stored = entry({ contentType: parsed.contentType, content: parsed.content });
    expect(parseAtomFeed(renderFeed({ name: stored.feed, entries: [stored], updated: stored.time }, ctx)).entries[0]?.contentType).toBe(parsed.contentType);
  });

  it('refuses input over the size limit before parsing it', () => {
    const xml = `<entry xmlns="http://www.w3.org/2005/Atom"><title>t</title><content>${'x'.repeat(2000)}</content></entry>`;
    expect(() => parseAtomEntry(xml, { maxBytes: 1000 })).toThrowError(expect.objectContaining({ code: 'FEED_ENTRY_TOO_LARGE' }));
    expect(parseAtomEntry(xml, { maxBytes: 5000 }).content).toHaveLength(2000);
  });

  it('refuses a feed whose ids are not this feed\'s', () => {
    const xml = renderFeed({ name: 'a', entries: [entry({ feed: 'a' })], updated: '2026-01-01T00:00:00.000Z' }, ctx).replace('tag:paygate,2026:a/', 'tag:paygate,2026:b/');
    expect(() => parseAtomFeed(xml)).toThrowError(expect.objectContaining({ code: 'FEED_BAD_XML' }));
  });
});
