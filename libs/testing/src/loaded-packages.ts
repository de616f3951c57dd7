import { spawn } from 'node:child_process';

/**
 * Runs `node <args>` with a module resolve hook and answers the packages it
 * resolved (ESM and CommonJS alike: an import of a CommonJS package resolves
 * through the hook too), so a test can say what a process start does not load.
 * `env`: the child's environment (default: this process's).
 */
export async function packagesLoadedBy(args: readonly string[], env?: NodeJS.ProcessEnv): Promise<Set<string>> {
  const resolver = `export async function resolve(specifier, context, next) {
  const found = await next(specifier, context);
  const m = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(found.url);
  if (m) process.stderr.write('LOADED ' + m[1] + '\\n');
  return found;
}`;
  const hook = `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent(${JSON.stringify(resolver)}));\n`;
  const stderr = await new Promise<string>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', `data:text/javascript,${encodeURIComponent(hook)}`, ...args], {
      env: env ?? process.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', () => resolve(err));
  });
  return new Set([...stderr.matchAll(/^LOADED (\S+)$/gm)].map((m) => m[1] ?? ''));
}
