/**
 * Durations as the configuration file writes them (`7d`, `36h`, `90m`, `30s`, `500ms`): one
 * schema for every duration key of config.ts and config-gateway.ts.
 */
import { z } from 'zod';

const DURATION = /^(\d+)\s*(ms|s|m|h|d)$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A duration string → whole milliseconds. */
export const durationSchema = z
  .string()
  .regex(DURATION)
  .transform((text) => {
    const [, count, unit] = DURATION.exec(text) as RegExpExecArray;
    return Number(count) * (UNIT_MS[unit as string] as number);
  })
  .pipe(z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER));
