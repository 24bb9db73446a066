/** A bad command-line argument: printed as one line, exit code 2, nothing changed. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/**
 * Why a server could not listen, as a usage error when the system said why (`EADDRINUSE`, `EACCES`: a port below 1024
 * without the right, `EINVAL`: an address it cannot take); `null` for anything else. Uncaught, such an error printed a
 * stack trace and exited 1.
 */
export function listenRefused(error: unknown, where: { host?: string; port: number }): UsageError | null {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string') return null;
  if (code === 'EADDRINUSE') return new UsageError(`port ${where.port} is in use`);
  if (where.host !== undefined && (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND'))
    return new UsageError(`cannot listen on --host ${where.host}`);
  const address = where.host === undefined ? `port ${where.port}` : `${where.host} port ${where.port}`;
  return new UsageError(`cannot listen on ${address} (${code})`);
}

/**
 * A whole number within bounds written in decimal digits, for options such as `--limit` and `--port`; exit 2
 * otherwise (`Number` alone would take `0x10`, `1e3`, ` 5` and an empty string).
 */
export function parseIntegerArg(flag: string, text: string, min: number, max: number): number {
  if (!/^\d{1,15}$/.test(text) || Number(text) < min || Number(text) > max) {
    throw new UsageError(`${flag} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return Number(text);
}

/**
 * Refuses an argument holding U+FFFD. Node decodes the command line as UTF-8 and writes each byte that is not as
 * U+FFFD, which would then be stored and pushed as a name or a value; text worth keeping never holds U+FFFD.
 * `valueFlags` are the options that take a value (`--credentials`): the refusal names the one the argument is the
 * value of. It never quotes the argument: it may be a secret (`--credentials`), and which ones are cannot be told.
 */
export function refuseUndecodedArguments(args: readonly string[], valueFlags: ReadonlySet<string>): void {
  const index = args.findIndex((arg) => arg.includes('\uFFFD'));
  if (index === -1) return;
  throw new UsageError(
    `${describeArgument(args, index, valueFlags)} is not UTF-8 text (a byte in it is not UTF-8, shown as ` +
      'U+FFFD; not shown: it may be a secret): set the terminal to UTF-8 and type it again',
  );
}

/** `argument 3`, or `the value of --credentials (argument 10)` when it is one (`--credentials=…` too). */
function describeArgument(args: readonly string[], index: number, valueFlags: ReadonlySet<string>): string {
  const position = `argument ${index + 1}`;
  const inline = /^(--[^=\s]+)=/.exec(args[index] ?? '')?.[1];
  const previous = args[index - 1];
  const flag = inline ?? (previous !== undefined && valueFlags.has(previous) ? previous : undefined);
  return flag === undefined ? position : `the value of ${flag} (${position})`;
}
