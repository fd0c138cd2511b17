import { Certificate, loadIdentity, TrustStore, type Identity } from '../wire/index.ts';
import { ValidationError } from './errors.ts';
import type { ResolvedGatewayOptions } from './options.ts';

/**
 * The gateway's key material, parsed once at `createGateway`: our identity (it signs requests
 * and decrypts replies), the trust anchors, and the gateway certificates that alone may sign
 * replies and to which requests are encrypted.
 */
export interface GatewayKeys {
  readonly identity: Identity;
  readonly trust: TrustStore;
  readonly gatewayCertificates: readonly Certificate[];
}

/**
 * Parses the PEM key material of resolved options.
 *
 * @throws ValidationError naming the option (`identity`, `trust`, `gatewayCertificates.<i>`) and
 *   the wire layer's reason; never key material.
 */
export function loadGatewayKeys(options: Pick<ResolvedGatewayOptions, 'identity' | 'trust' | 'gatewayCertificates'>): GatewayKeys {
  const identity = parsed('identity', () => loadIdentity(options.identity.cert, options.identity.key));
  const trust = parsed('trust', () => new TrustStore(options.trust));
  const gatewayCertificates = options.gatewayCertificates.map((pem, index) =>
    parsed(`gatewayCertificates.${index}`, () => Certificate.from(pem)),
  );
  return { identity, trust, gatewayCertificates };
}

function parsed<T>(path: string, load: () => T): T {
  try {
    return load();
  } catch (error) {
    const message = error instanceof Error ? error.message : 'cannot be parsed';
    throw new ValidationError('gateway options', [{ path, message }], { cause: error });
  }
}
