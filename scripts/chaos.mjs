// The crash loop (issue 17): a two-replica embedded system, CHAOS_ROUNDS (default 100) rounds of SIGKILL
// of a random process while a driver deploys, redeploys, stops and rotates; prints the table and writes
// the JSON report (CHAOS_OUT, default latchkey-chaos-<seed>.json in the temporary folder).
// CHAOS_SEED replays a run's choices. npm test runs 10 rounds of it: test/src/chaos.test.ts.
//   npm run chaos
const { chaosRounds, chaosSeed, runChaos } = await import('../test/dist/chaos/run.js');
try {
  const report = await runChaos({
    rounds: chaosRounds(100),
    seed: chaosSeed(),
    ...(process.env.CHAOS_OUT ? { out: process.env.CHAOS_OUT } : {}),
    log: (line) => console.log(line),
  });
  process.exit(report.ok ? 0 : 1);
} catch (err) {
  console.error(`chaos: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(2);
}
