/** The peak resident set size of this process alone, for the benches' memory figures. */
import { readFileSync } from 'node:fs';

export interface PeakRss {
  mb: number;
  /** `VmHWM`: this process's own high-water mark; `maxRSS`: getrusage's, where /proc is missing (below). */
  source: 'VmHWM' | 'maxRSS';
}

/**
 * Linux's `ru_maxrss` (Node's `process.resourceUsage().maxRSS`) does not start at zero in a child process: at
 * exec the kernel records the high water of the address space forked from the parent, so a child's figure is
 * at least its parent's RSS at the spawn. A bench child spawned by a 350 MB parent reported 353 MB from its
 * first line while its own peak was 194 MB. `VmHWM` in /proc/self/status belongs to the address space the
 * process has since exec, so it is the child's own. Elsewhere (no /proc) `maxRSS` is the figure there is.
 */
export function ownPeakRss(status: () => string = readProcStatus): PeakRss {
  const text = safely(status);
  const kib = text === null ? null : /^VmHWM:\s+(\d+)\s+kB$/m.exec(text)?.[1];
  if (kib !== null && kib !== undefined) return { mb: Math.round(Number(kib) / 1024), source: 'VmHWM' };
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
