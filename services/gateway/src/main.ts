import type { AddressInfo } from 'node:net';
import { serve } from '@latchkey/service';
import { connectUpstream } from './clients.js';
import { loadGatewayConfig } from './config.js';
import { buildGateway } from './http/server.js';
import { consoleSessions, httpsMaterial, runtimeReads } from './wiring/gateway-parts.js';

// The gateway is stateless (no database): its gRPC server serves health only;
// its HTTP server calls the services as each request's caller.
serve({
  name: 'gateway',
  loadConfig: loadGatewayConfig,
  async build({ config, log, transport, bus, ...service }) {
    const upstream = service.close(
      connectUpstream(
        {
          catalog: config.LATCHKEY_CATALOG_ADDR,
          deployer: config.LATCHKEY_DEPLOYER_ADDR,
          ras: config.LATCHKEY_RAS_ADDR,
        },
        transport.tls?.ca,
      ),
    );
    const https = await httpsMaterial(config);
    const sessions = await consoleSessions(config, bus, log);
    if (sessions === undefined)
      log.warn('no LATCHKEY_SESSION_KEY_FILE: the console cannot sign in (Bearer tokens only)');
    const runtime = await runtimeReads(config, transport.tls?.ca);
    if (runtime) service.close(runtime);
    else
      log.warn(
        'no runtime identity (LATCHKEY_RUNTIME_TLS_CERT_FILE/_KEY_FILE): workloads cannot read their secrets here',
      );
    const app = await buildGateway({
      upstream,
      logger: log,
      bodyLimit: config.LATCHKEY_HTTP_BODY_LIMIT,
      https,
      ...(sessions !== undefined ? { sessions } : {}),
      ...(runtime ? { runtime } : {}),
    });
    service.onStop(() => app.close());
    await app.listen({ host: config.LATCHKEY_HTTP_HOST, port: config.LATCHKEY_HTTP_PORT });
    const port = (app.server.address() as AddressInfo).port;
    service.listening('http', port);
    if (https === undefined) {
      log.warn(
        `HTTP API listening in PLAINTEXT on http://${config.LATCHKEY_HTTP_HOST}:${port}/ (LATCHKEY_INSECURE=1): tokens and values cross the network unencrypted; local debugging only`,
      );
    } else {
      log.info(`HTTP API listening on https://${config.LATCHKEY_HTTP_HOST}:${port}/`);
    }
  },
});
