// Lint is part of `npm test`: type-only imports, no floating promises, no
// import cycles, no undeclared dependencies.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

export default tseslint.config(
  {
    ignores: ['**/dist/**', '**/node_modules/**', '**/*.generated.ts', '.latchkey/**', '**/*.js', '**/*.mjs'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // .tsx: the web console (services/gateway/console).
    files: ['**/*.ts', '**/*.tsx'],
    plugins: { 'import-x': importX },
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    settings: {
      'import-x/parsers': { '@typescript-eslint/parser': ['.ts', '.tsx'] },
      'import-x/extensions': ['.ts', '.tsx', '.js'],
      // Another workspace resolves to its compiled dist/: not parsed again. A cycle
      // between workspaces cannot exist (tsc -b and turbo refuse circular references);
      // no-cycle checks each workspace's own files.
      'import-x/ignore': ['/dist/'],
      'import-x/resolver-next': [
        createTypeScriptImportResolver({
          noWarnOnMultipleProjects: true,
          project: ['tsconfig.json', '*/*/tsconfig.json', '*/tsconfig.json', 'services/gateway/console/tsconfig.json'],
        }),
      ],
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            { from: 'package', package: 'node:test', name: ['test', 'describe', 'it', 'suite'] },
          ],
        },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
      'import-x/no-extraneous-dependencies': [
        'error',
        { devDependencies: ['**/*.test.ts', '**/test/**', 'cli/src/testing/**'] },
      ],
      'no-console': 'error',
    },
  },
  {
    // The CLI and composition roots talk to people directly.
    files: ['cli/src/**/*.ts', 'test/**/*.ts', '**/*.test.ts'],
    rules: { 'no-console': 'off' },
  },
  {
    // Domains are transport-free: they speak through ports (libs/authz's
    // Authorizer, each service's domain/ports.ts), never a wire or a database.
    files: ['services/*/src/domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            '@grpc/grpc-js',
            'nats',
            'pg',
            '@latchkey/proto',
            '@latchkey/grpc',
            '@latchkey/nats',
            '@latchkey/db',
          ].map((name) => ({
            name,
            message: 'a domain is transport-free: put this behind a port in domain/ports.ts, implemented in adapters/',
          })),
          patterns: [{ group: ['@grpc/*', 'pg-*'], message: 'a domain is transport-free: use a port' }],
        },
      ],
    },
  },
);
