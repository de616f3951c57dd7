export type { Kek, SealedRecord } from './envelope.js';
export { envelopeEncrypt, envelopeDecrypt } from './envelope.js';
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
export { readKekFile, ensureKekFile, readSealKeyFile, ensureSealKeyFiles } from './key-files.js';
