import { execFile } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** Runs a bench script as `npm run bench:*` does (tsx), at most 60 s: a bench that starts running fails here. */
function bench(
  script: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', script, ...args],
      { encoding: 'utf8', timeout: 60_000 },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
          stdout,
          stderr,
        }),
    );
  });
}

// A mistyped flag was ignored and the bench ran at full size: half an hour and more for bench:sync.
describe('a bench given a flag it does not take', () => {
  it.each([
    ['bench/sync.ts', ['--qiuck'], /^bench:sync: unknown option --qiuck; it takes --quick, --only/],
    [
      'bench/sync.ts',
      ['--quick', '--only', 'memory', '--memory-sises', '10,20'],
      /unknown option --memory-sises/,
    ],
    ['bench/pacing.ts', ['--qiuck'], /^bench:pacing: Unknown option '--qiuck'/],
    ['bench/merge.ts', ['--quick'], /^bench:merge: Unknown option '--quick'/],
  ])(
    '%s %j stops at once with one line, exit 2',
    async (script, args, message) => {
      const run = await bench(script, args);
      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stderr.trim().split('\n')).toHaveLength(1);
      expect(run.stdout).toBe('');
    },
    90_000,
  );
});
