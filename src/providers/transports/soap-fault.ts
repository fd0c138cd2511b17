import { TransportError } from '../transport-errors.ts';
import { readXml } from './xml-safety.ts';

/**
 * SOAP faults. A well-formed `soap:Fault` is an **answer**: a card processor says "declined" or
 * "invalid merchant" that way, and the plugin turns it into an outcome (a decline is a result,
 * never an exception). So the SOAP transport returns it as `{ fault }` instead of throwing.
 * Only a fault that cannot be read (no code, no reason, several faults, text instead of
 * elements) is a transport failure: `PROVIDER_BAD_RESPONSE`.
 *
 * Both versions are read: SOAP 1.1 (`faultcode`, `faultstring`, `faultactor`, `detail`) and SOAP
 * 1.2 (`Code/Value`, `Code/Subcode/Value`, `Reason/Text`, `Role`, `Detail`).
 */

/** A fault as the provider sent it. */
export interface SoapFault {
  /** `faultcode` (1.1), or `Code/Value` with the subcode after a space (1.2), e.g. `soap:Client`. */
  readonly code: string;
  /** `faultstring` (1.1) or the first `Reason/Text` (1.2): the provider's words. */
  readonly string: string;
  /** `detail` / `Detail` in the parsed form of `xml-safety.ts`, or `undefined`. */
  readonly detail: unknown;
  /** `faultactor` / `Role`, if given. */
  readonly actor: string | undefined;
  /** The HTTP status the fault came with (500 in SOAP 1.1). */
  readonly status: number;
}

/** What reading a SOAP answer found: a fault, or an envelope for the WSDL client to read. */
export type SoapAnswerKind = { readonly fault: SoapFault } | { readonly fault: undefined };

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The text of an element in the parsed form (`'x'`, `{ '#text': 'x', '@_lang': 'en' }`, or the first of several). */
function textOf(value: unknown): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  if (typeof first === 'string') return first;
  if (isRecord(first) && typeof first['#text'] === 'string') return first['#text'];
  if (isRecord(first) && Object.keys(first).every((key) => key.startsWith('@_'))) return '';
  return undefined;
}

/**
 * Reads the answer `raw` (with XML safety, see `xml-safety.ts`): a SOAP envelope with a body is
 * required; a fault in it is returned; a malformed fault or a non-envelope throws
 * `PROVIDER_BAD_RESPONSE`.
 */
export async function readSoapAnswer(raw: string, host: string, status: number): Promise<SoapAnswerKind> {
  const document = await readXml(raw, host, status, { removeNamespacePrefixes: true });
  const envelope = document.Envelope;
  if (!isRecord(envelope) || !('Body' in envelope)) throw badSoap(host, status, 'answered with XML that is not a SOAP envelope with a body');
  const body = envelope.Body;
  if (!isRecord(body) || !('Fault' in body)) return { fault: undefined };
  return { fault: readFault(body.Fault, host, status) };
}

function readFault(fault: unknown, host: string, status: number): SoapFault {
  if (!isRecord(fault)) throw badSoap(host, status, 'answered with a malformed SOAP fault (not one fault element with children)');
  const soap11Code = textOf(fault.faultcode);
  if (soap11Code !== undefined || 'faultstring' in fault) {
    const string = textOf(fault.faultstring);
    if (!soap11Code || string === undefined) throw badSoap(host, status, 'answered with a malformed SOAP fault (faultcode or faultstring missing)');
    return { code: soap11Code, string, detail: fault.detail, actor: textOf(fault.faultactor), status };
  }
  const code = isRecord(fault.Code) ? textOf(fault.Code.Value) : undefined;
  const reason = isRecord(fault.Reason) ? textOf(fault.Reason.Text) : undefined;
  if (!code || reason === undefined) throw badSoap(host, status, 'answered with a malformed SOAP fault (no fault code or reason)');
  const subcode = isRecord(fault.Code) && isRecord(fault.Code.Subcode) ? textOf(fault.Code.Subcode.Value) : undefined;
  return { code: subcode ? `${code} ${subcode}` : code, string: reason, detail: fault.Detail, actor: textOf(fault.Role), status };
}

function badSoap(host: string, status: number, problem: string): TransportError {
  return new TransportError('PROVIDER_BAD_RESPONSE', `provider ${host} ${problem}`, { status });
}
