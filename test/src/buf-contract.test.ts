import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { REPO } from './system-harness.js';

const PROTO = join(REPO, 'proto');

/** @bufbuild/buf's platform packages, by `${process.platform}-${arch()}`. */
const PLATFORM_PACKAGES: Record<string, string> = {
  'linux-x64': '@bufbuild/buf-linux-x64',
  'linux-arm64': '@bufbuild/buf-linux-aarch64',
  'linux-arm': '@bufbuild/buf-linux-armv7',
  'darwin-x64': '@bufbuild/buf-darwin-x64',
  'darwin-arm64': '@bufbuild/buf-darwin-arm64',
  'win32-x64': '@bufbuild/buf-win32-x64',
  'win32-arm64': '@bufbuild/buf-win32-arm64',
};

/**
 * The buf binary of the @bufbuild/buf dev dependency. npm 11 does not run
 * its postinstall (which would put the native binary in place of its
 * JavaScript launcher): the native binary of the platform package, an
 * optional dependency npm installs anyway, is called directly; else the
 * launcher, which finds that same package itself.
 */
function bufBinary(): string {
  const require = createRequire(import.meta.url);
  const pkg = PLATFORM_PACKAGES[`${process.platform}-${arch()}`];
  const exe = process.platform === 'win32' ? 'buf.exe' : 'buf';
  if (pkg !== undefined) {
    try {
      return require.resolve(`${pkg}/bin/${exe}`);
    } catch {
      // Not installed for this platform: the launcher says what is missing.
    }
  }
  return join(require.resolve('@bufbuild/buf/package.json'), '..', 'bin', 'buf');
}

interface Run {
  code: number | null;
  out: string;
}

function run(file: string, args: string[], cwd = REPO): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, out }));
  });
}

const buf = (args: string[]) => run(bufBinary(), args);

async function scratch(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'latchkey-buf-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The commit to compare with: the merge base with main (HEAD itself in a clone of main); undefined without history. */
async function mergeBase(): Promise<{ commit: string } | { skip: string }> {
  if (!existsSync(join(REPO, '.git'))) return { skip: `${REPO} is not a git checkout: no history to compare with` };
  for (const ref of ['main', 'origin/main']) {
    const base = await run('git', ['merge-base', 'HEAD', ref]).catch(() => undefined);
    if (base?.code === 0 && base.out.trim() !== '') return { commit: base.out.trim() };
  }
  const head = await run('git', ['rev-parse', '--verify', 'HEAD']).catch(() => undefined);
  if (head?.code === 0) return { commit: head.out.trim() };
  return { skip: 'git knows no main branch and no HEAD commit here: no history to compare with' };
}

test('buf lint: proto/ passes the STANDARD rules, less the exceptions buf.yaml gives with their reasons', async () => {
  const lint = await buf(['lint', 'proto']);
  assert.equal(lint.code, 0, `buf lint proto found:\n${lint.out}`);
});

test('buf lint fails on a contract that breaks the rules (the check can fail)', async (t) => {
  const dir = await scratch(t);
  await cp(PROTO, join(dir, 'proto'), { recursive: true });
  const file = join(dir, 'proto/latchkey/v1/common.proto');
  await writeFile(file, `${await readFile(file, 'utf8')}\nmessage bad_name { string BadField = 1; }\n`);
  const lint = await run(bufBinary(), ['lint', 'proto'], dir);
  assert.equal(lint.code, 100, lint.out);
  assert.match(lint.out, /Message name "bad_name" should be PascalCase/);
  assert.match(lint.out, /Field name "BadField" should be lower_snake_case/);
});

test('buf breaking: proto/ keeps every message, field, service and method of the merge base with main', async (t) => {
  const base = await mergeBase();
  if ('skip' in base) {
    t.skip(base.skip);
    return;
  }
  const dir = await scratch(t);
  // The base's proto/ as it was committed, whatever is checked out or changed here.
  const archive = await run('sh', ['-c', `git archive --format=tar ${base.commit} proto | tar -x -C '${dir}'`]);
  assert.equal(archive.code, 0, `could not read proto/ of ${base.commit}: ${archive.out}`);
  const breaking = await buf(['breaking', 'proto', '--against', join(dir, 'proto')]);
  assert.equal(
    breaking.code,
    0,
    `proto/ breaks the contract of ${base.commit} (merge base with main):\n${breaking.out}`,
  );
});

test('buf breaking fails on a renamed service, whose method paths change on the wire (the check can fail)', async (t) => {
  const dir = await scratch(t);
  await cp(PROTO, join(dir, 'proto'), { recursive: true });
  const catalog = join(dir, 'proto/latchkey/v1/catalog.proto');
  await writeFile(
    catalog,
    (await readFile(catalog, 'utf8')).replace('service CatalogInternal ', 'service CatalogPrivate '),
  );
  const breaking = await run(bufBinary(), ['breaking', 'proto', '--against', PROTO], dir);
  assert.equal(breaking.code, 100, breaking.out);
  assert.match(breaking.out, /Previously present service "CatalogInternal" was deleted/);
});
