import { createPrivateKey, X509Certificate } from 'node:crypto';
import type { ConnectionOptions } from 'node:tls';
import * as z from 'zod';

/**
 * TLS settings of a provider endpoint: which CAs to trust and, optionally, the client
 * certificate to present. There is deliberately no way to switch certificate verification off
 * (`rejectUnauthorized` is always true): a provider whose certificate does not verify is
 * unreachable, not "probably fine". The schema is strict, so `rejectUnauthorized: false` in a
 * plugin's options is refused instead of silently dropped.
 */

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** True when `text` holds at least one PEM certificate and every one of them parses. */
function isCertificateBundle(text: string): boolean {
  const blocks = text.match(PEM_CERTIFICATE);
  if (!blocks) return false;
  try {
    for (const block of blocks) new X509Certificate(block);
    return true;
  } catch {
    return false;
  }
}

/** True when `text` is a private key Node can load (PEM, unencrypted or with `passphrase`). */
function isPrivateKey(text: string, passphrase: string | undefined): boolean {
  try {
    createPrivateKey(passphrase === undefined ? text : { key: text, passphrase });
    return true;
  } catch {
    return false;
  }
}

const certificatePem = z.string().refine(isCertificateBundle, 'must be PEM text of one or more certificates');

/** The TLS options of a transport (PEM text, not paths: the plugin reads its files itself). */
export const tlsOptionsSchema = z
  .strictObject({
    /**
     * The CA certificate(s) the provider's server certificate must chain to, as PEM text (a
     * bundle or a list). Omitted: Node's built-in public roots, as for any public provider.
     */
    ca: z.union([certificatePem, z.array(certificatePem).min(1)]).optional(),
    /** Client certificate (PEM, the chain may follow) presented to providers that ask for one. */
    cert: certificatePem.optional(),
    /** The client certificate's private key (PEM). */
    key: z.string().optional(),
    /** Passphrase of an encrypted `key`. */
    passphrase: z.string().optional(),
    /** Server name for SNI and the certificate name check, when it differs from the endpoint's host. */
    servername: z.string().min(1).optional(),
  })
  .superRefine((tls, context) => {
    if ((tls.cert === undefined) !== (tls.key === undefined)) {
      context.addIssue({ code: 'custom', path: [tls.cert === undefined ? 'cert' : 'key'], message: 'cert and key go together' });
    }
    if (tls.key !== undefined && !isPrivateKey(tls.key, tls.passphrase)) {
      // The message never repeats the key (nor says which part of it is wrong).
      context.addIssue({ code: 'custom', path: ['key'], message: 'must be a PEM private key (with its passphrase if encrypted)' });
    }
  });

/** What a plugin writes (all optional). */
export type TlsOptionsInput = z.input<typeof tlsOptionsSchema>;
/** The validated TLS options. */
export type TlsOptions = z.output<typeof tlsOptionsSchema>;

/**
 * The `tls.connect` options for `tls`: verification always on, TLS 1.2 at least, the configured
 * CAs (or Node's roots) and the client certificate if any.
 */
export function tlsConnectOptions(tls: TlsOptions): ConnectionOptions {
  return {
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2',
    ...(tls.ca !== undefined && { ca: tls.ca }),
    ...(tls.cert !== undefined && { cert: tls.cert }),
    ...(tls.key !== undefined && { key: tls.key }),
    ...(tls.passphrase !== undefined && { passphrase: tls.passphrase }),
    ...(tls.servername !== undefined && { servername: tls.servername }),
  };
}
