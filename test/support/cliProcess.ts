import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { inject } from 'vitest';

/** What a finished CLI run left. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a CLI child on its own embedded database in `dataDir`: never a Postgres, Inngest or admin
 * token the caller may have set, unless `extra` sets them.
 */
export function cliEnv(dataDir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const {
    DATABASE_URL: _db,
    CRM_SYNC_ADMIN_TOKEN: _token,
    INNGEST_DEV: _dev,
    INNGEST_SIGNING_KEY: _signing,
    INNGEST_EVENT_KEY: _event,
    INNGEST_BASE_URL: _base,
    ...env
  } = process.env;
  return { ...env, CRM_SYNC_DATA_DIR: dataDir, ...extra };
}

/** The arguments of `node` running the CLI with `args`: the CLI this run built from src/cli.ts (cliBuild.ts). */
export function cliArgs(args: string[]): string[] {
  return [inject('cliEntry'), ...args];
}

/** Runs the real CLI to completion as a child process, at most `timeoutMs`. */
export function runCli(env: NodeJS.ProcessEnv, args: string[], timeoutMs = 240_000): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      cliArgs(args),
      { env, encoding: 'utf8', timeout: timeoutMs },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** A long-running CLI child (`serve`, `worker`) and what it has printed so far. */
export interface CliDaemon {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
  /** Resolves with the first line on `stream` matching `pattern`; rejects on exit or after `timeoutMs`. */
  waitForLine(stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM and the exit code; SIGKILL when it has not exited after `timeoutMs`. Idempotent. */
  stop(timeoutMs?: number): Promise<number | null>;
}

export function startCliDaemon(env: NodeJS.ProcessEnv, args: string[]): CliDaemon {
  const child = spawn(process.execPath, cliArgs(args), { env });
  const seen = { stdout: '', stderr: '' };
  child.stdout.on('data', (chunk: Buffer) => {
    seen.stdout += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    seen.stderr += chunk.toString('utf8');
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => ({ ...seen }),
    waitForLine(stream, pattern, timeoutMs = 120_000) {
      return new Promise((resolve, reject) => {
        const find = () => seen[stream].split('\n').find((line) => pattern.test(line));
        const timer = setInterval(() => {
          const line = find();
          if (line !== undefined) done(() => resolve(line));
          else if (child.exitCode !== null)
            done(() => reject(new Error(`exited (${child.exitCode}) before ${pattern}: ${seen.stderr}`)));
        }, 50);
        const deadline = setTimeout(
          () => done(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms: ${seen.stderr}`))),
          timeoutMs,
        );
        const done = (settle: () => void) => {
          clearInterval(timer);
          clearTimeout(deadline);
          settle();
        };
      });
    },
    async stop(timeoutMs = 30_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}
