/**
 * The public surface of the wire layer: everything the SDK, the worker, the audit
 * tools and the CLI need to seal and open messages. Internals (DER helpers, MIME parsing, the
 * CMS builders) stay behind this file. `revealSecret` is the one door to clear card data: the YAML
 * codec uses it inside this folder, and provider plugins' request transformers use it to build the
 * provider's request. test/architecture.test.ts keeps every other module from using it.
 */
export { WireError, WIRE_ERROR_CODES, type WireErrorCode } from './errors.ts';
export { seal, open, sealOptionsSchema, openOptionsSchema, type SealOptions, type OpenOptions, type OpenedMessage } from './smime.ts';
export { Certificate, loadIdentity, type Identity } from './x509.ts';
export { TrustStore } from './trust.ts';
export { PAYGATE_OID_ARC, SIGNER_ROLE_OIDS, signerRolesOf, requireSignerRole, type SignerRole } from './roles.ts';
export { containsCardNumber, findCardNumber, shownKey } from './card-text.ts';
export {
  CRYPTO_PROFILE, type AlgorithmsUsed, type ContentCipher, type KeyManagement, type ProfileRow, type SignatureAlgorithm,
  type SignedForm,
} from './profile.ts';
export { decodeYaml, encodeYaml, DEFAULT_YAML_LIMITS, MAX_YAML_DEPTH, type YamlLimits } from './yaml.ts';
export { Secret, CardNumber, Cvc, maskPan, luhnValid, revealSecret } from './secret.ts';
export {
  cardSchema, cardNumberSchema, cvcSchema, makeCardSchema, cardBrand, type Card, type CardInput, type CardSchemaOptions,
} from './card.ts';
export { moneySchema, currencySchema, currencyExponent, formatMoney, type Money } from './money.ts';
export {
  requestDocumentSchema, replyDocumentSchema, parseRequestDocument, parseReplyDocument, schemaInvalid, nameSchema, timestampSchema, REPLY_STATUSES,
  cardNumberOutsidePayload, cardDataInText, shownIssue, type ShownIssue, type RequestDocument, type RequestDocumentInput, type ReplyDocument, type ReplyDocumentInput, type ReplyStatus,
} from './documents.ts';
export {
  HEADER, PAYGATE_VERSION, sealedContentType, isSealedContentType, requestHeaders, replyHeaders, expiresOf,
  type BodyCipher,
} from './frame-headers.ts';
export { buildDetachedSignedData, verifySignedData, type VerifiedSignedData } from './signed-data.ts';
