/**
 * The sandbox kit: the provider-independent parts of the HTTP provider sandboxes (PayPal, gift
 * card). Test helpers live in `test-support.ts` and are not exported here.
 */
export { HttpsListener } from './listener.ts';
export { defaultKnobs, type HangPoint, type SandboxKnobs } from './knobs.ts';
export { HTML_PAGE, GARBAGE, errorPage, sendWhole, sendTruncated } from './broken.ts';
export { exchange, MAX_BODY_BYTES, type CallCounter, type Endpoint, type ExchangeContext, type ProcessedCall, type SendMalformed } from './exchange.ts';
export { startSandbox, LOG_LINES_KEPT, type SandboxHandle, type SandboxServerOptions, type SandboxSetup } from './sandbox.ts';
