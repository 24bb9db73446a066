import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { connectionStates } from '../machines/connectionContext.ts';
import { connectionMachine } from '../machines/connectionMachine.ts';
import { phaseNames } from '../machines/phases.ts';
import { layoutMachine, machineGraph, renderMachineDiagram } from './machineDiagram.ts';

describe('machineGraph', () => {
  const graph = machineGraph(connectionMachine);

  it('has exactly the connection machine states, from idle', () => {
    expect(graph.states).toEqual([...connectionStates]);
    expect(graph.initial).toBe('idle');
  });

  const transitions: Array<[string, string, string[]]> = [
    ['idle', 'fetching', ['sync.requested']],
    ['fetching', 'fetching', ['done']],
    ['auditing', 'idle', ['done']],
    ...phaseNames.flatMap(
      (phase): Array<[string, string, string[]]> => [
        [phase, 'backoff', ['failed']],
        [phase, 'error', ['failed']],
        ['backoff', phase, ['sync.resume']],
        ['error', phase, ['retry.requested', 'credentials.updated']],
      ],
    ),
  ];
  it.each(transitions)('has the transition %s → %s on %j', (source, target, events) => {
    expect(graph.edges).toContainEqual({ source, target, events: expect.arrayContaining(events) });
  });

  it('follows the definition: a state added to a machine appears in its diagram', () => {
    const machine = createMachine({
      id: 'door',
      initial: 'closed',
      states: {
        closed: { on: { open: 'opened' } },
        opened: { on: { close: 'closed', lock: 'locked' } },
        locked: {},
      },
    });
    const door = machineGraph(machine);
    expect(door.states).toEqual(['closed', 'opened', 'locked']);
    expect(door.edges).toEqual([
      { source: 'closed', target: 'opened', events: ['open'] },
      { source: 'opened', target: 'closed', events: ['close'] },
      { source: 'opened', target: 'locked', events: ['lock'] },
    ]);
  });
});

describe('renderMachineDiagram', () => {
  const graph = machineGraph(connectionMachine);

  it('puts the cycle on the main row and backoff and error below it', () => {
    const rows = Object.fromEntries(layoutMachine(graph).nodes.map((node) => [node.state, node.row]));
    expect(rows).toEqual({
      idle: 'main',
      fetching: 'main',
      reconciling: 'main',
      pushing: 'main',
      auditing: 'main',
      backoff: 'side',
      error: 'side',
    });
  });

  it('draws one node per state and one edge per transition pair', () => {
    const svg = renderMachineDiagram(graph);
    for (const state of connectionStates) expect(svg).toContain(`data-state="${state}"`);
    expect(svg.match(/<g class="state[ "]/g)).toHaveLength(connectionStates.length);
    expect(svg.match(/<g class="transition /g)).toHaveLength(graph.edges.length);
    expect(svg).not.toContain('class="state current"');
  });
});
