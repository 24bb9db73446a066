import { type ParseArgsConfig, parseArgs } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * A bench's flags, parsed strictly: an unknown or malformed flag (`--qiuck`) stops it with one line and exit 2.
 * Ignored, it ran the bench at full size instead, half an hour for `bench:sync`.
 */
export function benchArgs<const O extends Options>(name: string, options: O) {
  try {
    return parseArgs({ options, strict: true, allowPositionals: false }).values;
  } catch (error) {
    process.stderr.write(`${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  }
}

/** The `--quick` flag, the only one most benches take. */
export const quickFlag = (name: string): boolean =>
  benchArgs(name, { quick: { type: 'boolean', default: false } }).quick;
