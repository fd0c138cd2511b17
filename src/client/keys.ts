import { Certificate, loadIdentity, requireSignerRole, TrustStore, type Identity } from '../wire/index.ts';
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
  /** A reply's signer must carry one of these (`[]`: no role check). */
  readonly gatewayRoleOids: readonly string[];
}

/**
 * Parses the PEM key material of resolved options. A configured gateway certificate without the
 * gateway role is refused here: every reply it signed would be dropped, and every request would
 * time out instead of failing once, at start.
 *
 * @throws ValidationError naming the option (`identity`, `trust`, `gatewayCertificates.<i>`) and
 *   the wire layer's reason; never key material.
 */
export function loadGatewayKeys(
  options: Pick<ResolvedGatewayOptions, 'identity' | 'trust' | 'gatewayCertificates' | 'gatewayRoleOids'>,
): GatewayKeys {
  const identity = parsed('identity', () => loadIdentity(options.identity.cert, options.identity.key));
  const trust = parsed('trust', () => new TrustStore(options.trust));
  const gatewayRoleOids = options.gatewayRoleOids;
  const gatewayCertificates = options.gatewayCertificates.map((pem, index) =>
    parsed(`gatewayCertificates.${index}`, () => {
      const certificate = Certificate.from(pem);
      try {
        requireSignerRole(certificate, gatewayRoleOids, 'gateway');
      } catch (error) {
        const fix = 'issue it with the gateway role, or list the OIDs of your own PKI in gatewayRoleOids';
        throw new Error(`${(error as Error).message}: ${fix}`, { cause: error });
      }
      return certificate;
    }),
  );
  return { identity, trust, gatewayCertificates, gatewayRoleOids };
}

function parsed<T>(path: string, load: () => T): T {
  try {
    return load();
  } catch (error) {
    const message = error instanceof Error ? error.message : 'cannot be parsed';
    throw new ValidationError('gateway options', [{ path, message }], { cause: error });
  }
}
