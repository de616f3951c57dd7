// Gives each service only the key files it needs: copies, for every service
// in deploy/service-keys.json, the files listed there from /keys to
// /keys/for/<service>/ (same relative paths, same owner, private files 0600),
// which docker-compose.yml mounts read-only as that service's /keys. Run after
// init-keys, on every start (a rotated file is copied again; a file no longer
// listed is removed).
import { chmod, chown, copyFile, mkdir, readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';

const dir = process.argv[2] ?? '/keys';
const table = JSON.parse(await readFile(new URL('./service-keys.json', import.meta.url), 'utf8'));
for (const [service, files] of Object.entries(table)) {
  if (service === '//') continue;
  const target = path.join(dir, 'for', service);
  await rm(target, { recursive: true, force: true });
  await mkdir(target, { recursive: true, mode: 0o700 });
  for (const file of files) {
    const from = path.join(dir, file);
    const to = path.join(target, file);
    await mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
    const st = await stat(from);
    await copyFile(from, to);
    await chmod(to, st.mode & 0o777);
    await chown(to, st.uid, st.gid);
  }
  // The services run as the image's `node` user (uid 1000).
  for (const d of [target, path.join(target, 'tls'), path.join(target, 'bus')])
    await chown(d, 1000, 1000).catch(() => undefined);
}
