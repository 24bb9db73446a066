/** A bad command-line argument: printed as one line, exit code 2, nothing changed. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
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
