// The production build holds no test code: each workspace's tsconfig.json
// (what deploy/Dockerfile builds) compiles no test file and reaches no part of
// @latchkey/testing, whose fixtures start databases and emulators; the tests
// are their own TypeScript projects (services/<svc>/test/tsconfig.json,
// <lib or cli>/tsconfig.test.json) that reference the production one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { REPO } from './system-harness.js';

const TESTING = join(REPO, 'libs/testing');

/** Every workspace with production code: libs (but libs/testing itself), services, the CLI. */
function productionWorkspaces(): string[] {
  const under = (dir: string) =>
    readdirSync(join(REPO, dir), { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(join(REPO, dir, d.name, 'tsconfig.json')))
      .map((d) => `${dir}/${d.name}`);
  return [...under('libs'), ...under('services'), 'cli'].filter((w) => w !== 'libs/testing');
}

function isTestCode(file: string): boolean {
  return /\.test\.(ts|js|d\.ts)$/.test(file) || /\/test\//.test(relative(REPO, file)) || file.startsWith(TESTING + '/');
}

function parse(configPath: string): ts.ParsedCommandLine {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    configPath,
    {},
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (d) => assert.fail(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    },
  );
  assert.ok(parsed, `${configPath} could not be read`);
  return parsed;
}

// One host for every program, so that lib and node_modules declarations are parsed once.
const cache = new Map<string, ts.SourceFile | undefined>();
function cachingHost(options: ts.CompilerOptions): ts.CompilerHost {
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, languageVersion, onError) => {
    if (!cache.has(fileName)) cache.set(fileName, getSourceFile(fileName, languageVersion, onError));
    return cache.get(fileName);
  };
  return host;
}

test('no production project compiles a test file or references libs/testing', () => {
  for (const ws of productionWorkspaces()) {
    const parsed = parse(join(REPO, ws, 'tsconfig.json'));
    const tests = parsed.fileNames.filter(isTestCode).map((f) => relative(REPO, f));
    assert.deepEqual(tests, [], `${ws}/tsconfig.json compiles test code: move it to the test project`);
    const refs = (parsed.projectReferences ?? []).map((r) => r.path).filter((p) => p === TESTING);
    assert.deepEqual(refs, [], `${ws}/tsconfig.json references libs/testing: only its test project may`);
  }
});

test('no production source imports @latchkey/testing or a test file, directly or through another file', () => {
  for (const ws of productionWorkspaces()) {
    const parsed = parse(join(REPO, ws, 'tsconfig.json'));
    const program = ts.createProgram({
      rootNames: parsed.fileNames,
      options: parsed.options,
      projectReferences: parsed.projectReferences,
      host: cachingHost(parsed.options),
    });
    const reached = program
      .getSourceFiles()
      .map((f) => f.fileName)
      .filter((f) => !f.includes('/node_modules/') || f.includes('/node_modules/@latchkey/'))
      .filter(isTestCode)
      .map((f) => relative(REPO, f));
    assert.deepEqual(reached, [], `the production build of ${ws} reaches test code`);
  }
});

test('@latchkey/testing is only ever a devDependency', () => {
  for (const ws of productionWorkspaces()) {
    const pkg = JSON.parse(readFileSync(join(REPO, ws, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
    };
    assert.equal(pkg.dependencies?.['@latchkey/testing'], undefined, `${ws}/package.json: move it to devDependencies`);
  }
});

test('the compiled production files import no @latchkey/testing', () => {
  for (const ws of productionWorkspaces()) {
    const parsed = parse(join(REPO, ws, 'tsconfig.json'));
    for (const source of parsed.fileNames) {
      for (const out of ts.getOutputFileNames(parsed, source, false).filter((f) => f.endsWith('.js'))) {
        assert.ok(existsSync(out), `${relative(REPO, out)} is missing: run npm run build`);
        const js = readFileSync(out, 'utf8');
        assert.doesNotMatch(js, /['"]@latchkey\/testing['"]/, `${relative(REPO, out)} imports @latchkey/testing`);
      }
    }
  }
});
