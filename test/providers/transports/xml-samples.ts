/** XML answers that attack a parser, for the XML and SOAP transport tests. */

/**
 * The "billion laughs" document: ten levels of entities, each ten times the one below, so
 * `&lol9;` would expand to 10^9 copies of "lol" (3 GB) in a parser that expands entities.
 */
export function billionLaughs(): string {
  const entities = ['<!ENTITY lol "lol">'];
  for (let level = 1; level <= 9; level++) {
    entities.push(`<!ENTITY lol${level} "${`&lol${level === 1 ? '' : level - 1};`.repeat(10)}">`);
  }
  return `<?xml version="1.0"?>\n<!DOCTYPE lolz [\n${entities.join('\n')}\n]>\n<lolz>&lol9;</lolz>`;
}
