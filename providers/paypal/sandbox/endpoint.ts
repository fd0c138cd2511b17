import type { PaypalApi } from './dispatch.ts';
import type { Endpoint, ProcessedCall } from '../../_sandbox-kit/exchange.ts';
import { maskAccount } from './mask.ts';
import { encodeNvp, parseNvp, type NvpFields, type NvpParams } from './nvp.ts';

/**
 * The NVP endpoint behind the exchange: a form body in, `text/plain` name-value pairs out
 * (always HTTP 200, as PayPal: failures are `ACK=Failure`), and a log summary that names the
 * card only masked and never the CVV2, password or signature.
 */

/** Parameters worth a place in the log line, in order (ACCT is masked). */
const LOGGED = ['MSGSUBID', 'PAYMENTACTION', 'ACCT', 'AMT', 'CURRENCYCODE', 'INVNUM', 'AUTHORIZATIONID', 'TRANSACTIONID', 'REFUNDTYPE', 'COMPLETETYPE'];

function summarise(params: NvpParams, fields: NvpFields, replayed: boolean): string {
  const sent = LOGGED.filter((name) => params.has(name)).map((name) => {
    const value = params.get(name) ?? '';
    return `${name}=${name === 'ACCT' ? maskAccount(value) : JSON.stringify(value)}`;
  });
  const result = fields.ACK === 'Success'
    ? `Success${fields.TRANSACTIONID ? ` TRANSACTIONID=${fields.TRANSACTIONID}` : ''}${fields.REFUNDTRANSACTIONID ? ` REFUNDTRANSACTIONID=${fields.REFUNDTRANSACTIONID}` : ''}`
    : `Failure ${fields.L_ERRORCODE0 ?? ''}`;
  return [...sent, '→', result, ...(replayed ? ['(replayed for MSGSUBID)'] : [])].join(' ');
}

/** The NVP {@link Endpoint} on `path` in front of `api`. */
export function nvpEndpoint(path: string, api: PaypalApi): Endpoint {
  return {
    path,
    acceptsContentType: (type) => (type ?? '').split(';')[0]?.trim().toLowerCase() === 'application/x-www-form-urlencoded',
    operationOf: (body) => parseNvp(body).get('METHOD') ?? '(none)',
    process(body): ProcessedCall {
      const params = parseNvp(body);
      const { fields, replayed } = api.call(params);
      return { status: 200, contentType: 'text/plain; charset=utf-8', body: encodeNvp(fields), summary: summarise(params, fields, replayed) };
    },
  };
}
