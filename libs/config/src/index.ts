export { auditFailClosed, loadConfig, logLevel, port, required, secretsV2, z } from './config-loader.js';
