import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { connectionMachine } from '../machines/connectionMachine.ts';
import { progressLine } from './sync.ts';

describe('sync progress lines', () => {
  it('writes a line per phase, none for idle: the run’s own first and last lines say it started and ended', () => {
    const lines: string[] = [];
    const report = progressLine('reapit', (text) => lines.push(text));
    // Between cycles, as the run's first and last transitions see it; `cycle: null` leaves each line's detail out.
    const input = {
      connectionId: 'c',
      tenantId: 't',
      provider: 'reapit' as const,
      cursor: null,
      localCursor: 0,
    };
    const { context } = createActor(connectionMachine, { input }).getSnapshot();
    for (const state of ['idle', 'fetching', 'reconciling', 'idle'] as const)
      report({ connectionId: 'c', state, context });
    expect(lines).toEqual(['reapit: fetching', 'reapit: reconciling']);
  });
});
