export type { Kek, SealedRecord } from './envelope.js';
export { envelopeEncrypt, envelopeDecrypt, rewrapDek } from './envelope.js';
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
export type { KekRingFile } from './key-files.js';
export {
  readKekFile,
  readKekRing,
  writeKekRing,
  generateKek,
  ensureKekFile,
  readSealKeyFile,
  ensureSealKeyFiles,
} from './key-files.js';
export type { LocalTlsFiles } from './tls-certs.js';
export { ensureLocalTls, localTlsFiles } from './tls-certs.js';
