/**
 * The command was well formed but could not do its work (the database failed, a connection did not finish):
 * printed as one line, exit code 1.
 */
export class CommandFailed extends Error {
  override readonly name = 'CommandFailed';
}
