import { setImmediate } from 'node:timers/promises';

/**
 * Lets the event loop turn once. PGlite runs a query inside WebAssembly and settles it without a turn of the loop,
 * so a phase looping over store batches would hold every timer (the lease heartbeat, other connections' paced
 * pushes), socket (the admin and serve endpoints) and abort of its process until it ends: a reconcile of 100,000
 * records runs for minutes. Called once per batch.
 */
export const yieldTurn = (): Promise<void> => setImmediate();
