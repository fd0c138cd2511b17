import type { FormTransport } from '../../src/providers/index.ts';
import { withCredentials, type NvpFields, type PaypalCredentials } from './transformers.ts';
import type { NvpAnswer } from './parsers.ts';

/**
 * One NVP call: the method's fields plus the credentials, POSTed to the endpoint itself (the
 * deployment's `endpoint` is PayPal's full NVP URL, e.g. `https://api-3t.paypal.com/nvp`; the
 * transport's `/` is that URL), through the provider's breaker, with the request's signal.
 * Transport failures are thrown unchanged: the worker knows what they mean.
 */

/** What `setup` gives every handler (`context.resources`). */
export interface PaypalResources {
  readonly nvp: FormTransport;
  readonly credentials: PaypalCredentials;
}

/** Sends `fields` and resolves with the decoded answer fields. */
export async function callNvp(resources: PaypalResources, fields: NvpFields, signal: AbortSignal): Promise<NvpAnswer> {
  const answer = await resources.nvp.post('/', withCredentials(fields, resources.credentials), { signal });
  return answer.fields;
}
