import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '@latchkey/testing';

/** What the test workloads print instead of a value: its SHA-256, in hex. */
export const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

/** The script of a workload that stays up until it is stopped. */
export const STAY_UP = 'setInterval(()=>{},1000)';

/**
 * A workload's Node.js script from its statements, after a prelude that
 * gives it `c` (crypto), `fs` and `h(s)` (the hex SHA-256 of `s`, as `sha`).
 */
export function workloadScript(...statements: string[]): string {
  return [
    "const c=require('crypto'),fs=require('fs');",
    "const h=s=>c.createHash('sha256').update(s).digest('hex');",
    ...statements,
  ].join('');
}

/** A structured reference to the managed secret `key` of `domain` (or `global`). */
export function managedRef(key: string, domain: string): { key: string; source: { type: 'MANAGED'; id: string } } {
  return { key, source: { type: 'MANAGED', id: domain } };
}

/** A COMPUTE workload that runs `script` with Node.js (by default one that stays up). */
export function computeWorkload(
  name: string,
  envVars: Record<string, unknown>,
  script: string = STAY_UP,
): { name: string; kind: 'COMPUTE'; envVars: Record<string, unknown>; run: { command: string[] } } {
  return { name, kind: 'COMPUTE', envVars, run: { command: [process.execPath, '-e', script] } };
}

/** A workload document as `latchkey workload apply -f` reads it (any shape: tests write bad ones too). */
export type WorkloadDoc = { name?: string } & Record<string, unknown>;

/** Writes `doc` as JSON to `<dir>/<file>.json` (by default the workload's name) and returns the path. */
export async function writeWorkload(dir: string, doc: WorkloadDoc, file = doc.name ?? 'workload'): Promise<string> {
  const path = join(dir, `${file}.json`);
  await writeFile(path, JSON.stringify(doc));
  return path;
}

/** A CLI that fails the test unless the command succeeds (as recordedCli's `ok`). */
export type OkCli = (args: string[], input?: string) => Promise<{ stdout: string }>;

/** Writes the workload `doc` into `dir` and applies it to `domain` with `ok`; returns the file. */
export async function applyWorkload(
  ok: OkCli,
  dir: string,
  domain: string,
  doc: WorkloadDoc,
  file?: string,
): Promise<string> {
  const path = await writeWorkload(dir, doc, file);
  await ok(['workload', 'apply', '-f', path, '--domain', domain]);
  return path;
}

/** Waits until `latchkey logs <name>` of `domain` shows `marker`, and returns that output. */
export function waitForLogs(
  ok: OkCli,
  name: string,
  domain: string,
  marker: string,
  opts: { what?: string; timeoutMs?: number } = {},
): Promise<string> {
  return waitFor(
    async () => {
      const r = await ok(['logs', name, '--domain', domain]);
      return r.stdout.includes(marker) ? r.stdout : undefined;
    },
    { what: opts.what ?? `${name}'s output to show ${marker}`, timeoutMs: opts.timeoutMs ?? 20_000 },
  );
}

/**
 * The SPARK_JOB `nightly-etl` of analytics that takes db_password three ways:
 * a structured reference (DB_PASSWORD), a legacy placeholder inside a JDBC
 * URL (JDBC_URL) and a placeholder in a Spark property; `envVars` adds more.
 */
export function nightlyEtl(run: Record<string, unknown>, envVars: Record<string, unknown> = {}): WorkloadDoc {
  return {
    name: 'nightly-etl',
    kind: 'SPARK_JOB',
    template: {
      envVars: {
        DB_PASSWORD: managedRef('db_password', 'analytics'),
        JDBC_URL: 'jdbc:postgresql://db/x?password=${secrets.db_password}',
        ...envVars,
      },
      sparkConf: { 'spark.hadoop.fs.s3a.secret.key': '${secrets.db_password}' },
    },
    run,
  };
}
