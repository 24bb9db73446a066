import { expect } from 'vitest';
import { runCli } from './cliProcess.ts';

/** The flags naming the connection `addLoopConnection` adds, as a command of the CLI takes them. */
export const HARBOUR_LOOP = ['--tenant', 'Harbour Lettings', '--provider', 'loop'];

/**
 * Through the CLI: the tenant Harbour Lettings (a name with a space, which suggested commands must quote) and its
 * Loop connection to an address where nothing listens, for tests of what the CLI says rather than of a sync.
 */
export async function addLoopConnection(env: NodeJS.ProcessEnv, ...flags: string[]): Promise<void> {
  const added = await runCli(env, ['tenant', 'add', 'Harbour Lettings']);
  expect(added.code, added.stderr).toBe(0);
  const connected = await runCli(env, [
    ...['connection', 'add', ...HARBOUR_LOOP],
    ...['--base-url', 'http://127.0.0.1:1', '--credentials', '{"apiKey":"key"}', ...flags],
  ]);
  expect(connected.code, connected.stderr).toBe(0);
}
