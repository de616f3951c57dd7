export { auditFailClosed, loadConfig, port, required, z } from './config-loader.js';
