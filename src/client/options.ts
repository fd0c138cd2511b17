import { readFile } from 'node:fs/promises';
import * as z from 'zod';
import type { ProviderDefinition } from '../providers/index.ts';
import { optionsSchema as stompOptionsSchema } from '../stomp/options.ts';
import { SIGNER_ROLE_OIDS } from '../wire/index.ts';
import { ValidationError } from './errors.ts';

/**
 * The options of `createGateway(options)` and their defaults, in one place: nothing else in
 * `src/client` invents a default.
 *
 * Key material is given as **PEM strings**, not file paths: the SDK then never touches the file
 * system behind the caller's back, secrets may come from a vault or the environment as easily as
 * from disk, and tests need no files. {@link readIdentityFiles} reads a certificate and key from
 * files for those who keep them there.
 */

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;
// Assembled so that no tracked file holds a private-key PEM header verbatim (the repository's key check).
const KEY_LABEL = `(?:[A-Z]+ )?${'PRIVATE'} KEY`;
const PEM_KEY = new RegExp(`-----BEGIN ${KEY_LABEL}-----[\\s\\S]+?-----END ${KEY_LABEL}-----`);

const certificatePem = z.string().regex(PEM_CERTIFICATE, 'must be a PEM certificate (-----BEGIN CERTIFICATE-----)');
const keyPem = z.string().regex(PEM_KEY, 'must be a PEM private key (PKCS#8, or PKCS#1/SEC1)');

/** Our identity: the certificate the worker verifies our signature with and encrypts replies to, and its key. */
const identitySchema = z.strictObject({
  /** The client certificate, PEM (may be followed by its intermediates). */
  cert: certificatePem,
  /** Its private key, PEM, unencrypted. */
  key: keyPem,
});

const providerSchema = z.custom<ProviderDefinition>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { name?: unknown }).name === 'string' &&
    typeof (value as { actions?: unknown }).actions === 'object' &&
    Array.isArray((value as { capabilities?: unknown }).capabilities),
  { message: 'must be a provider definition made by defineProvider()' },
);

export const gatewayOptionsSchema = z
  .strictObject({
    /** The broker cluster: the STOMP connection options of `src/stomp` (nodes, TLS, heart-beats, reconnect…), unchanged. */
    brokers: stompOptionsSchema,
    /** Our client certificate and key (PEM strings; see {@link readIdentityFiles}). */
    identity: identitySchema,
    /** Replies must be signed by one of these certificates (PEM); any other signer is refused. */
    gatewayCertificates: z.array(certificatePem).min(1),
    /**
     * The extendedKeyUsage OIDs that make a certificate a gateway (reply signer): a reply whose
     * signer carries none of them is dropped, even from a configured gateway certificate. The
     * default is paygate's gateway role, which `paygate certs` writes; a deployment with its own
     * PKI lists its own OIDs, or `[]` to switch the role check off (pinning to
     * `gatewayCertificates` stays).
     */
    gatewayRoleOids: z
      .array(z.string().regex(/^[0-2](?:\.(?:0|[1-9]\d*))+$/, 'must be a dotted OID, e.g. 1.3.6.1.5.5.7.3.4'))
      .default([SIGNER_ROLE_OIDS.gateway]),
    /** CA certificate(s) (PEM) the gateway certificates chain to. */
    trust: z.union([certificatePem, z.array(certificatePem).min(1)]).transform((v) => (typeof v === 'string' ? [v] : v)),
    /** The provider plugins: they type `request()` and validate payloads before sending. */
    providers: z.array(providerSchema).min(1),
    /** How long `request()` waits for a reply unless the call says otherwise (ms). */
    defaultTimeoutMs: z.number().int().positive().default(30_000),
    /** Request destinations are `<queuePrefix><provider>`. */
    queuePrefix: z
      .string()
      .regex(/^\/[\x21-\x7e]*$/, 'must be a STOMP destination prefix without spaces, e.g. /queue/paygate.')
      .default('/queue/paygate.'),
    /** Requests in flight at most; one more fails with NOT_SENT (overloaded). */
    maxInFlight: z.number().int().positive().default(1_024),
    /** Content encryption of requests: AES-256-GCM (AuthEnvelopedData), or CBC for older workers. */
    cipher: z.enum(['aes-256-gcm', 'aes-256-cbc']).default('aes-256-gcm'),
  })
  .superRefine((options, ctx) => {
    const seen = new Set<string>();
    options.providers.forEach((provider, index) => {
      if (seen.has(provider.name)) {
        ctx.addIssue({ code: 'custom', path: ['providers', index], message: `provider "${provider.name}" is given twice` });
      }
      seen.add(provider.name);
    });
  });

/** What `createGateway` accepts (defaults may be left out), typed by its providers. */
export type GatewayOptions<P extends readonly ProviderDefinition[] = readonly ProviderDefinition[]> = Omit<
  z.input<typeof gatewayOptionsSchema>,
  'providers'
> & { readonly providers: P };

/** Options with every default filled in. */
export type ResolvedGatewayOptions<P extends readonly ProviderDefinition[] = readonly ProviderDefinition[]> = Omit<
  z.output<typeof gatewayOptionsSchema>,
  'providers'
> & { readonly providers: P };

/**
 * Validates the gateway's options and fills in the defaults.
 *
 * @throws ValidationError `VALIDATION_FAILED` naming each bad path (e.g. `brokers.nodes.0.port`)
 *   and its problem; never a value (keys stay out of messages).
 */
export function parseGatewayOptions<const P extends readonly ProviderDefinition[]>(input: GatewayOptions<P>): ResolvedGatewayOptions<P> {
  const result = gatewayOptionsSchema.safeParse(input);
  if (!result.success) throw ValidationError.fromZod('gateway options', result.error);
  return result.data as unknown as ResolvedGatewayOptions<P>;
}

/** Reads a certificate and its key from PEM files, for `options.identity`. */
export async function readIdentityFiles(certPath: string, keyPath: string): Promise<{ cert: string; key: string }> {
  const [cert, key] = await Promise.all([readFile(certPath, 'utf8'), readFile(keyPath, 'utf8')]);
  return { cert, key };
}
