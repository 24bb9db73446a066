import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ownPeakRss } from '../../bench/peakRss.ts';

const run = promisify(execFile);
const PARENT_HOLDS_MB = 400;

/** A child that reports its own peak and its current RSS, in MB: the RSS first, so the peak read after holds it. */
const childScript = `
const { ownPeakRss } = await import(${JSON.stringify(new URL('../../bench/peakRss.ts', import.meta.url).href)});
const rss = process.memoryUsage().rss / 1048576;
const peak = ownPeakRss();
console.log(JSON.stringify({ peak, rss }));
`;

describe('ownPeakRss', () => {
  it.runIf(process.platform === 'linux')(
    "gives a child its own peak, not its parent's RSS at the spawn",
    async () => {
      // A native buffer, touched so that it is resident: the kind of memory a fork hands on (JavaScript objects
      // and WebAssembly memory are not).
      const ballast = Buffer.alloc(PARENT_HOLDS_MB * 1024 * 1024).fill(1);
      const { stdout } = await run(process.execPath, [
        '--import',
        'tsx',
        '--input-type=module',
        '--eval',
        childScript,
      ]);
      expect(ballast.at(-1)).toBe(1);
      const child = JSON.parse(stdout.trim()) as {
        peak: { mb: number; source: string };
        rss: number;
      };
      expect(child.peak.source).toBe('VmHWM');
      // A node process loading tsx holds well under 300 MB; getrusage's figure carries the parent's 400 MB.
      expect(child.peak.mb).toBeLessThan(300);
      expect(child.peak.mb).toBeGreaterThanOrEqual(Math.floor(child.rss));
    },
  );

  it('falls back to getrusage where /proc/self/status cannot be read or has no VmHWM', () => {
    const fromRusage = Math.round(process.resourceUsage().maxRSS / 1024);
    const unreadable = ownPeakRss(() => {
      throw new Error('ENOENT');
    });
    expect(unreadable.source).toBe('maxRSS');
    expect(unreadable.mb).toBeGreaterThanOrEqual(fromRusage);
    expect(ownPeakRss(() => 'Name:\tnode\nVmRSS:\t 1000 kB\n').source).toBe('maxRSS');
  });

  it('reads VmHWM in kB as MB', () => {
    expect(ownPeakRss(() => 'Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t 1000 kB\n')).toEqual({
      mb: 200,
      source: 'VmHWM',
    });
  });
});
