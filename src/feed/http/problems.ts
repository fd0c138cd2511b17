/**
 * Error answers as RFC 9457 problem details (`application/problem+json`): `{type, title, status,
 * detail, code}` with the error's stable FEED_* code. The detail is the error's message, which
 * never holds entry content (the Atom reader reports positions, not text).
 */
import { PaygateError } from '../../errors.ts';

/** The HTTP status of each code this server answers with. */
const STATUS: Record<string, number> = {
  FEED_BAD_NAME: 400,
  FEED_BAD_ENTRY: 400,
  FEED_BAD_QUERY: 400,
  FEED_BAD_PAGE_SIZE: 400,
  FEED_BAD_XML: 400,
  FEED_BAD_REQUEST: 400,
  FEED_NOT_CHAINED: 400,
  FEED_UNKNOWN_ENTRY: 400,
  FEED_UNAUTHORIZED: 401,
  FEED_FORBIDDEN: 403,
  FEED_NOT_FOUND: 404,
  FEED_ENTRY_TOO_LARGE: 413,
  FEED_UNSUPPORTED_MEDIA_TYPE: 415,
  FEED_STORE_FAILED: 503,
  FEED_CLOSED: 503,
};

const TITLES: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
  413: 'Content Too Large', 415: 'Unsupported Media Type', 500: 'Internal Server Error', 503: 'Service Unavailable',
};

/** A problem document and its status. */
export interface Problem {
  readonly status: number;
  readonly body: { type: string; title: string; status: number; detail: string; code: string };
}

/** The problem for `error`; `status` overrides the code's usual status (e.g. 404 for an unknown entry id in a path). */
export function problemOf(error: unknown, status?: number): Problem {
  if (error instanceof PaygateError && STATUS[error.code] !== undefined) {
    return make(status ?? (STATUS[error.code] as number), error.code, error.message);
  }
  return make(500, 'FEED_INTERNAL_ERROR', 'the feed server failed; see its log');
}

/** A problem from its parts. */
export function make(status: number, code: string, detail: string): Problem {
  return { status, body: { type: `tag:paygate,2026:problem/${code}`, title: TITLES[status] ?? 'Error', status, detail, code } };
}
