// Turns the key folder of deploy/init-keys.mjs into the Kubernetes Secrets the Helm chart and
// the kustomize base mount: one Secret latchkey-<service>-keys per service, holding exactly
// the files deploy/service-keys.json gives it (never the CA key, the token issuer's signing
// key or another service's key), each under its path with - for / (tls/ca.crt -> tls-ca.crt,
// which the Deployments mount back as /keys/tls/ca.crt). Prints one List (JSON) on stdout:
//   node deploy/keys-to-secrets.mjs /keys | kubectl apply -n latchkey-system -f -
// With your own PKI and secret manager, make the same Secrets with the same keys.
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const dir = process.argv[2];
if (dir === undefined || dir === '') {
  process.stderr.write('usage: node deploy/keys-to-secrets.mjs KEY_FOLDER (the folder init-keys.mjs wrote)\n');
  process.exit(2);
}
const table = JSON.parse(await readFile(new URL('./service-keys.json', import.meta.url), 'utf8'));
const items = [];
for (const [service, files] of Object.entries(table)) {
  if (service === '//') continue;
  const data = {};
  for (const file of files) {
    try {
      data[file.replaceAll('/', '-')] = (await readFile(path.join(dir, file))).toString('base64');
    } catch (err) {
      process.stderr.write(
        `cannot read ${path.join(dir, file)} (${err.code ?? err.message}), which ${service} needs: run deploy/init-keys.mjs ${dir} first\n`,
      );
      process.exit(1);
    }
  }
  items.push({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: `latchkey-${service}-keys`,
      labels: { 'app.kubernetes.io/name': service, 'app.kubernetes.io/part-of': 'latchkey' },
    },
    type: 'Opaque',
    data,
  });
}
process.stdout.write(JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 2) + '\n');
