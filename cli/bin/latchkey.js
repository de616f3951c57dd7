#!/usr/bin/env node
// The `latchkey` command. The code lives in ../src (compiled to ../dist).
let main;
try {
  ({ main } = await import('../dist/main.js'));
} catch (err) {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/main.js')) {
    process.stderr.write('latchkey: the CLI is not built: run npm run build (or npx tsc -b cli)\n');
    process.exit(1);
  }
  throw err;
}
process.exit(await main(process.argv.slice(2)));
