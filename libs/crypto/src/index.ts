export type { Kek, SealedRecord } from './envelope.js';
export { envelopeEncrypt, envelopeDecrypt, rewrapDek, gcmEncrypt, gcmDecrypt } from './envelope.js';
export type { SealedBox, SealPublicKey, SealKeyPair } from './seal.js';
export {
  seal,
  open,
  generateSealKeyPair,
  exportSealKeyPair,
  importSealPrivateKey,
  importSealPublicKey,
  keyIdOf,
} from './seal.js';
export type { Signature, SigningKeyPair, SigningPublicKey } from './signing.js';
export {
  generateSigningKeyPair,
  exportSigningKeyPair,
  importSigningPrivateKey,
  importSigningPublicKey,
  signPayload,
  signatureProblem,
} from './signing.js';
export type { KekRingFile } from './key-files.js';
export {
  readKekFile,
  readKekRing,
  writeKekRing,
  generateKek,
  ensureKekFile,
  readSealKeyFile,
  ensureSealKeyFiles,
  readSigningKeyFile,
  readSigningPublicKeyFiles,
  ensureSigningKeyFiles,
} from './key-files.js';
export type { LocalTlsFiles } from './tls-certs.js';
export { ensureLocalTls, localTlsFiles } from './tls-certs.js';
export type { LoginLinkContent } from './login-link.js';
export { LOGIN_LINK_MAX_TTL_SEC, sealLoginLink, openLoginLink } from './login-link.js';
