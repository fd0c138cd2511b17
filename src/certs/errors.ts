import { PaygateError } from '../errors.ts';

/** Stable codes of the certificate tooling's failures (see docs/errors.md). */
export const CERTS_ERROR_CODES = [
  /** A file `writeDevPki` would write already exists and `force` was not given. */
  'CERTS_EXIST',
  /** An option is outside what the tooling supports (key algorithm, RSA size, dates). */
  'CERTS_INVALID_OPTION',
  /** The issuer given to `issueCertificate` is not a usable CA (not a CA, key does not match). */
  'CERTS_BAD_ISSUER',
] as const;

export type CertsErrorCode = (typeof CERTS_ERROR_CODES)[number];

/** A failure to generate, issue or write development certificates. */
export class CertsError extends PaygateError {
  declare readonly code: CertsErrorCode;
  /** The file concerned, when there is one (e.g. the existing file for `CERTS_EXIST`). */
  readonly path: string | undefined;

  constructor(code: CertsErrorCode, message: string, options?: { cause?: unknown; path?: string }) {
    super(code, message, options);
    this.path = options?.path;
  }
}
