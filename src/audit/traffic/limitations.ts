/**
 * What a capture cannot show, by where it was captured. A clean verdict on such a capture holds
 * only within these limits, so the report states them beside the verdict rather than in a
 * footnote: an auditor reading "clean" must know what was not looked at.
 */
import type { Limitation } from './scan-report.ts';

/** The limitations of each capture source that has any. */
const BY_SOURCE: ReadonlyMap<string, readonly Omit<Limitation, 'source'>[]> = new Map([
  ['rabbitmq', [{
    limitation: 'headers_not_captured',
    detail: 'RabbitMQ\'s firehose, read over STOMP, drops the STOMP headers of the messages it copies: card numbers in headers could not be looked for, '
      + 'and a reply sent again after a redelivery cannot be tied to its request by correlation id (it shows as unrecorded_message)',
  }]],
]);

/** The limitations of a capture taken from `sources`, in source order. */
export function limitationsOf(sources: Iterable<string>): Limitation[] {
  return [...sources].sort().flatMap((source) => (BY_SOURCE.get(source) ?? []).map((l) => ({ source, ...l })));
}
