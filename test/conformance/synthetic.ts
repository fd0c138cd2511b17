/**
 * Synthetic transcripts for checking a plugin's `scrub` on its own: every secret of the run
 * rendered as a form body, XML (elements and attributes) and JSON, under the names it travels
 * with (the payload's keys, the option keys, and the provider's own names from the spec).
 * A `scrub` must be total: none of them may survive it.
 */
import type { Secrets } from './secrets.ts';
import type { TranscriptNames } from './spec.ts';

/** One secret and the field names it may travel under. */
interface Named {
  readonly kind: string;
  readonly value: string;
  readonly names: readonly string[];
}

const xmlEscape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A synthetic transcript and a label that names its rendering and field, never the value. */
export interface Synthetic {
  readonly label: string;
  readonly text: string;
}

/** The renderings of one `name = value`: form, XML element, XML attribute, JSON. */
function renderings(kind: string, name: string, value: string): Synthetic[] {
  const form = `${encodeURIComponent(name)}=${encodeURIComponent(value)}`;
  const label = (rendering: string): string => `${kind} as ${rendering} "${name}"`;
  return [
    { label: label('form field'), text: `AMT=10.00&${form}&CURRENCYCODE=EUR` },
    { label: label('XML element'), text: `<request><amount>10.00</amount><${name}>${xmlEscape(value)}</${name}></request>` },
    { label: label('XML attribute'), text: `<request><card ${name}="${xmlEscape(value)}" kind="x"/></request>` },
    { label: label('JSON member'), text: `{"amount":"10.00","${name}":${JSON.stringify(value)}}` },
    { label: label('spaced JSON member'), text: `{"amount": "10.00", "${name}": ${JSON.stringify(value)} }` },
  ];
}

/** A PAN as it may appear anywhere: bare, spaced, dashed, percent- and plus-encoded. */
function panRenderings(pan: string): Synthetic[] {
  const groups = pan.match(/.{1,4}/g) ?? [pan];
  return [
    { label: 'card number in free text', text: `free text ${pan} here` },
    { label: 'card number plus-encoded in a form', text: `ACCT=${groups.join('+')}&X=1` },
    { label: 'card number percent-encoded in a form', text: `ACCT=${groups.join('%20')}&X=1` },
    { label: 'card number spaced in XML', text: `<pan>${groups.join(' ')}</pan>` },
    { label: 'card number dashed in JSON', text: `{"number":"${groups.join('-')}"}` },
    ...renderings('card number', 'number', pan),
    ...renderings('card number', 'ACCT', pan),
  ];
}

/** The secrets with their names: CVVs under the payload's CVV keys and the provider's names, credentials under theirs. */
function namedSecrets(secrets: Secrets, names: TranscriptNames): Named[] {
  const cvvNames = [...new Set(['cvc', 'cvv', ...secrets.secretKeys, ...(names.cvv ?? [])])];
  const named: Named[] = [...secrets.cvvs].map((value) => ({ kind: 'CVV/PIN', value, names: cvvNames }));
  for (const [path, value] of secrets.credentials) {
    const own = path.split('.').at(-1) ?? path;
    const wire = names.credentials?.[path];
    named.push({ kind: `credential options.${path}`, value, names: wire === undefined ? [own] : [own, wire] });
  }
  return named;
}

/**
 * Synthetic transcripts, one per rendering (so a failure names the one that leaked), for every
 * PAN and named secret in `secrets`.
 */
export function syntheticTranscripts(secrets: Secrets, names: TranscriptNames = {}): Synthetic[] {
  const out: Synthetic[] = [];
  for (const pan of secrets.pans) out.push(...panRenderings(pan));
  for (const { kind, value, names: fieldNames } of namedSecrets(secrets, names)) {
    for (const name of fieldNames) out.push(...renderings(kind, name, value));
  }
  return out;
}
