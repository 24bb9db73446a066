import { createEmbeddedWorker } from '../../src/worker/embeddedWorker.ts';
import type { SyncHarness } from './syncHarness.ts';

/**
 * One tick of an embedded worker on the harness's store and clock; the ids it started, once their runs ended.
 * `tickMs` (a minute by default): how far ahead the tick looks, and a backoff longer than it is handed back to the
 * schedule rather than slept in the run.
 */
export async function tickOnce(h: SyncHarness, tickMs?: number): Promise<string[]> {
  const worker = createEmbeddedWorker(h.deps, { log: () => {}, ...(tickMs === undefined ? {} : { tickMs }) });
  const { started } = await worker.tick();
  await worker.drain();
  await worker.stop();
  return started.map((c) => c.connectionId);
}
