import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The CLI built from this run's sources, for child processes: `node <cliEntry> …`. */
    cliEntry: string;
  }
}

const root = path.resolve(import.meta.dirname, '..', '..');

/**
 * Vitest global setup: builds src/cli.ts once per run, as the CLI tests' children load it. Each `node --import tsx
 * src/cli.ts` spent about 1.4 s of CPU having tsx resolve and load its ~600 modules one by one, and the suites
 * start a few hundred (the five slowest CLI test files took 305 s with tsx, 184 s with this build). The build is the same sources (type-checked by `npm test` first),
 * split per command as src/cli.ts loads them, with the packages left to node_modules; it sits in the checkout so
 * that they resolve from there. The files the code reads beside itself by `import.meta.url` are copied beside it.
 * `npm start`, the demo's test and src/cli.ts's own loading test still go through tsx.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  const buildRoot = path.join(root, '.test-build');
  mkdirSync(buildRoot, { recursive: true });
  const outdir = mkdtempSync(path.join(buildRoot, 'cli-'));
  await buildCli(outdir);
  // In watch mode the sources change between runs: a stale build would test yesterday's CLI.
  project.onTestsRerun(() => buildCli(outdir));
  project.provide('cliEntry', path.join(outdir, 'cli.js'));
  return () => rmSync(outdir, { recursive: true, force: true });
}

async function buildCli(outdir: string): Promise<void> {
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: [path.join(root, 'src', 'cli.ts')],
    outdir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  cpSync(path.join(root, 'src', 'persistence', 'migrations'), path.join(outdir, 'migrations'), {
    recursive: true,
  });
  cpSync(path.join(root, 'src', 'server', 'static'), path.join(outdir, 'static'), { recursive: true });
}
