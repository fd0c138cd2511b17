/** The traffic audit: `scanTraffic` (what crossed the broker, without decrypting) and its report's data contract. */
export { scanTraffic, scanTrafficDetailed, UNATTRIBUTED_PROVIDER, type ScanDetails } from './scan.ts';
export { scanOptionsSchema, resolveScanOptions, DEFAULT_WINDOW_LEAD_MS, DEFAULT_WINDOW_TAIL_MS, DEFAULT_MAX_REPLIES_BY_CORRELATION, type ScanOptions, type ResolvedScanOptions } from './scan-options.ts';
export { inspectMessage, type MessageFacts, type BodyFormat, type CardFinding } from './inspect.ts';
export { classifyDestination, type DestinationClass, type DestinationNaming } from './classify.ts';
export * from './scan-report.ts';
export { maskScanReport } from './report-mask.ts';
