/** The command line of `npm run bench:sync` and the output helpers every figure shares. */
export const argv = process.argv.slice(2);

/** The value after `flag`, or undefined when the flag is absent; a flag given without a value stops the bench. */
function flagValue(flag: string): string | undefined {
  const at = argv.indexOf(flag);
  if (at === -1) return undefined;
  const value = argv[at + 1];
  if (value === undefined || value.startsWith('--')) {
    process.stderr.write(`bench:sync: ${flag} needs a value\n`);
    process.exit(2);
  }
  return value;
}

export const quick = argv.includes('--quick');
export const only = flagValue('--only');
/** `--memory-backend pglite|postgres` measures the memory figure on one backend only. */
export const memoryBackend = flagValue('--memory-backend');
/** `--providers a,b` limits push-vs-limit to those providers (the per-minute ones take 10–20 min each at full size). */
export const pushProviders = flagValue('--providers')?.split(',');
export const scale = (n: number) => (quick ? Math.round(n / 10) : n);
/** `--memory-sizes 1000,10000` overrides the memory figure's two sizes (default 10,000 and 1,000,000, scaled). */
export const memorySizes = (flagValue('--memory-sizes')?.split(',').map(Number) as
  | [number, number]
  | undefined) ?? [scale(10_000), scale(1_000_000)];
/**
 * `--memory-heap-mb N` (default 192; 0: V8's default) is the orchestrator child's `--max-old-space-size`, the
 * heap limit README.md ("Running in production") gives a process running one connection at a time. Without
 * one, V8 on this 24 GiB machine lets uncollected garbage grow to several times the live heap.
 */
export const memoryHeapMb = Number(flagValue('--memory-heap-mb') ?? 192);

export const emit = (fields: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(fields)}\n`);
export const log = (message: string) => process.stderr.write(`[bench:sync] ${message}\n`);
export const round = (n: number, digits = 2) => Number(n.toFixed(digits));

export function must<T>(result: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

export const median = (values: number[]) =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
