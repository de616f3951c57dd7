export { auditFailClosed, loadConfig, logLevel, port, required, z } from './config-loader.js';
