import { randomUUID } from 'node:crypto';
import type * as z from 'zod';
import { decodeYaml, encodeYaml, requestDocumentSchema, seal, type BodyCipher, type Certificate, type Identity, type RequestDocument } from '../wire/index.ts';
import { ValidationError } from './errors.ts';

/**
 * Building and sealing a request document (DESIGN §2): the YAML a worker reads, signed with our
 * identity and encrypted to the gateway certificates.
 */

/** What a request document is made of, besides what this module fills in (id, timestamps). */
export interface RequestInput {
  readonly provider: string;
  readonly type: string;
  /** The payload to send, as chosen by {@link wirePayload}. */
  readonly payload: Readonly<Record<string, unknown>>;
  /** Defaults to the new request's `id`. */
  readonly idempotencyKey?: string | undefined;
  /** `expires_at` is `sent_at` plus this. */
  readonly timeoutMs: number;
}

/** The keys a request is sealed with. */
export interface SealKeys {
  readonly identity: Identity;
  readonly recipients: readonly Certificate[];
  readonly cipher: BodyCipher;
}

/** A sealed request, ready to SEND. */
export interface SealedRequest {
  readonly document: RequestDocument;
  /** Epoch ms of `expires_at`: the frame's `expires` header. */
  readonly expiresAt: number;
  /** The S/MIME body. */
  readonly body: string;
}

/**
 * Builds the request document (a fresh UUID `id`, `sent_at` now), checks it against the wire
 * schema and seals it.
 *
 * @throws ValidationError when the document breaks the wire schema (in practice: a bad
 *   `idempotencyKey`); paths only, never values.
 */
export function sealRequest(input: RequestInput, keys: SealKeys, now: number = Date.now()): SealedRequest {
  const id = randomUUID();
  const expiresAt = now + input.timeoutMs;
  const checked = requestDocumentSchema.safeParse({
    paygate: 1,
    kind: 'request',
    id,
    idempotency_key: input.idempotencyKey ?? id,
    provider: input.provider,
    type: input.type,
    sent_at: new Date(now).toISOString(),
    expires_at: new Date(expiresAt).toISOString(),
    payload: input.payload,
  });
  if (!checked.success) throw ValidationError.fromZod('request document', checked.error);
  // A CardNumber in the payload is written in clear by encodeYaml, the one place allowed to reveal a Secret.
  const yaml = encodeYaml(checked.data);
  const body = seal(yaml, { recipients: [...keys.recipients], signer: keys.identity, cipher: keys.cipher });
  return { document: checked.data, expiresAt, body };
}

/**
 * The payload to put on the wire, given what the caller wrote (`given`, which the action's
 * request schema accepted) and what the schema made of it (`parsed`).
 *
 * The parsed payload is preferred: the worker then sees normalised values (a card number
 * without spaces, defaults filled in, unknown keys of a non-strict object stripped), so a retry
 * written differently carries the same payload and is not refused as an idempotency conflict.
 * But the worker validates what it receives with the same schema, whose *input* it must be: a
 * transform that changes a value's shape would make the parsed payload invalid there. So the
 * parsed payload is used only when it survives the trip unchanged (encode → decode → the same
 * schema → the same YAML); otherwise the caller's payload goes as given.
 */
export function wirePayload(schema: z.ZodType, given: unknown, parsed: unknown): unknown {
  try {
    const yaml = encodeYaml(parsed);
    const again = schema.safeParse(decodeYaml(yaml));
    if (again.success && encodeYaml(again.data) === yaml) return parsed;
  } catch {
    // Not encodable as YAML (e.g. a class instance in the output): the caller's payload it is.
  }
  return given;
}
