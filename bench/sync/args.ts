/** The command line of `npm run bench:sync` and the output helpers every figure shares. */
import { z } from 'zod';
import { providerNameSchema, providerNames } from '../../src/core/providerName.ts';

export const argv = process.argv.slice(2);

function usage(message: string): never {
  process.stderr.write(`bench:sync: ${message}\n`);
  process.exit(2);
}

/**
 * The flags `npm run bench:sync` takes, and whether each takes a value: the one list both the check of the command
 * line and `flagValue` read. Its child processes take their own modes.
 */
const FLAGS = {
  '--quick': false,
  '--only': true,
  '--memory-backend': true,
  '--providers': true,
  '--memory-sizes': true,
  '--memory-heap-mb': true,
} as const;
type ValueFlag = {
  [F in keyof typeof FLAGS]: (typeof FLAGS)[F] extends true ? F : never;
}[keyof typeof FLAGS];
const CHILD_MODES = ['--memory-child', '--push-child', '--sim-child'];

/** The value after `flag` read by `schema`, or undefined when the flag is absent; a bad value stops the bench. */
function flagValue<T>(flag: ValueFlag, schema: z.ZodType<T>, expected: string): T | undefined {
  const at = argv.indexOf(flag);
  if (at === -1) return undefined;
  const parsed = schema.safeParse(argv[at + 1]);
  return parsed.success ? parsed.data : usage(`${flag} takes ${expected}; got ${argv[at + 1] ?? 'nothing'}`);
}

// An unknown flag (`--qiuck`) is refused: ignored, it ran every figure at full size, for half an hour and more.
if (!CHILD_MODES.includes(argv[0] ?? '')) {
  for (let i = 0; i < argv.length; i++) {
    const takesValue = (FLAGS as Record<string, boolean>)[argv[i] as string];
    if (takesValue === undefined)
      usage(`unknown option ${argv[i]}; it takes ${Object.keys(FLAGS).join(', ')}`);
    if (takesValue) i++;
  }
}

export const quick = argv.includes('--quick');
/** What `--only` can name (`delta-vs-full` also prints the initial-throughput lines). */
const FIGURES = ['push-vs-limit', 'delta-scaling', 'delta-vs-full', 'memory'] as const;
export const only = flagValue('--only', z.enum(FIGURES), `one of ${FIGURES.join(', ')}`);
/** `--memory-backend pglite|postgres` measures the memory figure on one backend only. */
export const memoryBackend = flagValue(
  '--memory-backend',
  z.enum(['pglite', 'postgres']),
  'pglite or postgres',
);
/** `--providers a,b` limits push-vs-limit to those providers (the per-minute ones take 10–20 min each at full size). */
export const pushProviders = flagValue(
  '--providers',
  z
    .string()
    .transform((text) => text.split(','))
    .pipe(z.array(providerNameSchema).min(1)),
  `some of ${providerNames.join(', ')} separated by commas`,
);
export const scale = (n: number) => (quick ? Math.round(n / 10) : n);
/** `--memory-sizes 1000,10000` overrides the memory figure's two sizes (default 10,000 and 1,000,000, scaled). */
export const memorySizes = flagValue(
  '--memory-sizes',
  z
    .string()
    .regex(/^[1-9]\d*,[1-9]\d*$/)
    .transform((text) => text.split(',').map(Number) as [number, number]),
  'two contact counts separated by a comma',
) ?? [scale(10_000), scale(1_000_000)];
/**
 * `--memory-heap-mb N` (default 192; 0: V8's default) is the orchestrator child's `--max-old-space-size`, the
 * heap limit README.md ("Running in production") gives a process running one connection at a time. Without
 * one, V8 on this 24 GiB machine lets uncollected garbage grow to several times the live heap.
 */
export const memoryHeapMb =
  flagValue('--memory-heap-mb', z.coerce.number().int().min(0), 'a whole number of MB') ?? 192;

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
