/** A bad command-line argument: printed as one line, exit code 2, nothing changed. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
