/** The peak resident set size of this process alone, for the benches' memory figures. */
import { readFileSync } from 'node:fs';

export interface PeakRss {
  mb: number;
  /** `VmHWM`: this process's own high-water mark; `maxRSS`: getrusage's, where /proc is missing (below). */
  source: 'VmHWM' | 'maxRSS';
}

/**
 * Linux's `ru_maxrss` (Node's `process.resourceUsage().maxRSS`) does not start at zero in a child process: at
 * exec the kernel records the high water of the address space forked from the parent, which holds the parent's
 * resident native buffers (measured: a 600 MB Buffer is counted, 555 MB of JavaScript objects or 600 MB of
 * WebAssembly memory are not). A bench child spawned just after its parent made the PGlite template reported
 * 353 MB from its first line; its own peak was 194 MB. `VmHWM` in /proc/self/status belongs to the address
 * space the process has had since exec, so it is the child's own. Elsewhere (no /proc) `maxRSS` is what there is.
 */
export function ownPeakRss(status: () => string = readProcStatus): PeakRss {
  const text = safely(status);
  const kib = text === null ? undefined : /^VmHWM:\s+(\d+)\s+kB$/m.exec(text)?.[1];
  if (kib !== undefined) return { mb: Math.round(Number(kib) / 1024), source: 'VmHWM' };
  return { mb: Math.round(process.resourceUsage().maxRSS / 1024), source: 'maxRSS' };
}

const readProcStatus = () => readFileSync('/proc/self/status', 'utf8');

function safely(read: () => string): string | null {
  try {
    return read();
  } catch {
    return null;
  }
}
