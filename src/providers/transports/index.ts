/**
 * The provider transports: HTTPS POST of name-value forms, XML over HTTPS and SOAP,
 * all on one HTTPS client (pooling, TLS with configured CAs and client certificates, a per-call
 * deadline, the caller's signal, a response size limit) and one failure classification
 * (`failure-classification.ts`), plus the scrub helpers plugins build their `scrub` from.
 */
export { createFormTransport, formTransportOptionsSchema, type FormAnswer, type FormTransport, type FormTransportOptions } from './https-form.ts';
export { createXmlTransport, xmlTransportOptionsSchema, type XmlAnswer, type XmlDocument, type XmlTransport, type XmlTransportOptions } from './xml.ts';
export { createSoapTransport, soapTransportOptionsSchema, type SoapAnswer, type SoapTransport, type SoapTransportOptions } from './soap.ts';
export type { SoapFault } from './soap-fault.ts';
export type { CallOptions } from './http-client.ts';
export { TRANSPORT_DEFAULTS, type EndpointOptionsInput } from './options.ts';
export { tlsOptionsSchema, type TlsOptionsInput } from './tls.ts';
export type { TranscriptEntry, TranscriptHook } from './transcript.ts';
export { createScrub, isSensitiveFieldName, maskSensitiveFields, scrubTranscript } from './scrub.ts';
