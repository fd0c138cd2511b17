/**
 * The strict XML reader's refusals on hostile bodies of the largest size the server accepts
 * (1 MiB): comments and CDATA sections that never close are refused in one linear pass (a lazy
 * regex took about 110 s of event loop on such a body, so these tests would exceed the test
 * timeout), declarations are looked for outside comments and CDATA in document order, and no
 * refusal repeats what the client wrote (a tag name can carry a card number).
 */
import { describe, expect, it } from 'vitest';
import { parseXmlTree } from '../../src/feed/atom-xml.ts';
import { FeedProtocolError } from '../../src/feed/index.ts';
import { findPans } from '../helpers/pan-scan.ts';

const MIB = 1024 * 1024;
const PAN = '4111111111111111';

/** An entry whose content is `unit` repeated to fill exactly up to `size` bytes. */
function filled(unit: string, size = MIB): string {
  const wrap = (inner: string): string => `<entry xmlns="http://www.w3.org/2005/Atom"><title>x</title><content>${inner}</content></entry>`;
  return wrap(unit.repeat(Math.floor((size - wrap('').length) / unit.length)));
}

function refusal(xml: string): FeedProtocolError {
  try {
    parseXmlTree(xml, MIB);
  } catch (error) {
    if (error instanceof FeedProtocolError) return error;
    throw error;
  }
  throw new Error('the document was accepted');
}

describe('parseXmlTree on hostile 1 MiB bodies', () => {
  it.each([
    ['comment openers', '<!--', /a comment is never closed/],
    ['CDATA openers', '<![CDATA[', /a CDATA section is never closed/],
    ['both, interleaved', '<!--<![CDATA[', /a comment is never closed/],
    ['CDATA openers after one closed comment', '<![CDATA[<!---->', /a CDATA section is never closed/],
  ])('refuses %s that never close, at once', (_, unit, message) => {
    const xml = filled(unit);
    expect(Buffer.byteLength(xml)).toBeGreaterThan(MIB - unit.length);
    const error = refusal(xml);
    expect(error.code).toBe('FEED_BAD_XML');
    expect(error.message).toMatch(message);
  });

  it('reads a body of a hundred thousand closed comments and CDATA sections (each end is searched for once)', () => {
    const tree = parseXmlTree(filled('<!-- c --><![CDATA[d]]>'), MIB);
    expect(tree.local).toBe('entry');
  });
});

describe('parseXmlTree: what comments and CDATA may hide', () => {
  const entry = (inner: string): string => `<entry xmlns="http://www.w3.org/2005/Atom"><title>t</title><content>${inner}</content></entry>`;

  it('accepts a DOCTYPE or a processing instruction mentioned inside a comment or a CDATA section', () => {
    expect(parseXmlTree(entry('<!-- <!DOCTYPE x> <?pi?> -->'), MIB).local).toBe('entry');
    expect(parseXmlTree(entry('<![CDATA[ <!DOCTYPE x> <?pi?> <!-- ]]>'), MIB).local).toBe('entry');
  });

  it('reads them in document order: a comment opener inside CDATA does not hide what follows the CDATA', () => {
    expect(refusal(`<![CDATA[<!--]]><!DOCTYPE x [<!ENTITY e "e">]>${entry('-->')}`).message).toMatch(/DOCTYPE/);
    expect(refusal(`${entry('<![CDATA[ x ]]> <?pi?>')}`).message).toMatch(/processing instructions/);
  });

  it('never repeats what the client wrote in a refusal', () => {
    for (const xml of [
      `<entry><${PAN}/></entry>`,
      `<entry><x${PAN}></entry>`,
      `<entry ${PAN}></entry>`,
      `<entry><p${PAN}:t/></entry>`,
      `<entry><t>&x${PAN};</t></entry>`,
      `<entry><t>&#${PAN};</t></entry>`,
    ]) {
      const error = refusal(xml);
      expect(error.code).toBe('FEED_BAD_XML');
      expect(findPans(error.message), error.message).toEqual([]);
      expect(error.message).not.toContain(PAN);
    }
  });
});
