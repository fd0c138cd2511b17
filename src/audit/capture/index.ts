/** The traffic capture: one format for every broker (record.ts), its writer and its reader. */
export {
  CAPTURE_VERSION, CAPTURE_SOURCES, bodyDigest, encodeRecord, decodeRecord, segmentName, segmentNumber,
  type CaptureSource, type CapturedMessage, type CaptureInput,
} from './record.ts';
export { openCaptureWriter, captureWriterOptionsSchema, type CaptureWriter, type CaptureWriterOptions } from './writer.ts';
export { readCapture, captureSegments, lastSeqOf, MAX_RECORD_LINE_BYTES, type ReadCaptureOptions } from './reader.ts';
