export * from './envelope.js';
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
export * from './signing.js';
export * from './key-files.js';
export * from './tls-certs.js';
export * from './login-link.js';
