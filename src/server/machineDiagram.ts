import type { AnyStateMachine } from 'xstate';
import { toDirectedGraph } from 'xstate/graph';
import { escapeHtml as escapeXml } from './html.ts';

/**
 * The connection machine as the admin page draws it: nodes and edges read from the machine definition
 * itself (`xstate/graph`), laid out in two rows and rendered as inline SVG. Nothing here is a hand-kept
 * copy of the states, so the diagram follows the machine when it changes.
 */

/** A machine's top-level states and transitions. */
export interface MachineGraph {
  /** State keys, in definition order. */
  states: string[];
  initial: string;
  /** One per (source, target) pair, in definition order. */
  edges: MachineEdge[];
}

export interface MachineEdge {
  source: string;
  target: string;
  /** Readable event names, deduplicated: `done` and `failed` for an invoked actor's result. */
  events: string[];
}

/** Reads the states and transitions of `machine` (its top level; the connection machine is flat). */
export function machineGraph(machine: AnyStateMachine): MachineGraph {
  const root = toDirectedGraph(machine);
  const keyOf = (stateNodeId: string) => stateNodeId.slice(`${root.id}.`.length);
  const edges: MachineEdge[] = [];
  for (const child of root.children) {
    for (const edge of child.edges) {
      const source = keyOf(edge.source.id);
      const target = keyOf(edge.target.id);
      const event = readableEvent(edge.transition.eventType);
      const existing = edges.find((e) => e.source === source && e.target === target);
      if (existing === undefined) edges.push({ source, target, events: [event] });
      else if (!existing.events.includes(event)) existing.events.push(event);
    }
  }
  const initial = machine.root.initial?.target[0]?.key;
  if (initial === undefined) throw new Error(`machine ${machine.id} has no initial state`);
  return { states: Object.keys(machine.root.states), initial, edges };
}

/** `xstate.done.actor.fetchPhase` → `done`, `xstate.error.actor.fetchPhase` → `failed`; commands as they are. */
function readableEvent(eventType: string): string {
  if (eventType.startsWith('xstate.done.actor.')) return 'done';
  if (eventType.startsWith('xstate.error.actor.')) return 'failed';
  return eventType;
}

const NODE_W = 100;
const NODE_H = 34;
const COLUMN = 184;
const MARGIN = 16;
const TOP_Y = 78;
const BOTTOM_Y = 218;
const HEIGHT = 292;

interface Placed {
  state: string;
  x: number;
  y: number;
  row: 'main' | 'side';
}

/**
 * The main row is the path the machine takes when all goes well: from the initial state, along the state's
 * `done` transition when it has one (its work finished), else along its first command, while that reaches a
 * state not yet on the path (idle → fetching → … → auditing). Every other state goes on the side row below.
 */
export function layoutMachine(graph: MachineGraph): { width: number; height: number; nodes: Placed[] } {
  const main = [graph.initial];
  for (;;) {
    const last = main[main.length - 1];
    const leaving = graph.edges.filter((e) => e.source === last && e.target !== last);
    const done = leaving.filter((e) => e.events.includes('done'));
    const onward = done.length > 0 ? done : leaving.filter((e) => !e.events.includes('failed'));
    const next = onward[0];
    if (next === undefined || main.includes(next.target)) break;
    main.push(next.target);
  }
  const side = graph.states.filter((state) => !main.includes(state));
  const width = MARGIN * 2 + COLUMN * main.length;
  const span = COLUMN * main.length;
  const nodes: Placed[] = [
    ...main.map((state, i) => ({ state, x: MARGIN + COLUMN * (i + 0.5), y: TOP_Y, row: 'main' as const })),
    ...side.map((state, i) => ({
      state,
      x: MARGIN + (span * (i + 0.5)) / side.length,
      y: BOTTOM_Y,
      row: 'side' as const,
    })),
  ];
  return { width, height: HEIGHT, nodes };
}

/**
 * The machine as an `<svg>`: one `g.state[data-state]` per state and one `path.edge[data-source][data-target]`
 * per transition pair. The page marks the current state by adding the class `current` to its node; the
 * arrowhead marker `#machine-arrow` is defined once by the page (`machineDiagramDefs`).
 */
export function renderMachineDiagram(graph: MachineGraph): string {
  const layout = layoutMachine(graph);
  const at = new Map(layout.nodes.map((node) => [node.state, node]));
  const edges = graph.edges.map((edge) => {
    const source = at.get(edge.source);
    const target = at.get(edge.target);
    if (source === undefined || target === undefined) return '';
    const shape = edgeShape(source, target, layout.nodes);
    const label =
      shape.label === null
        ? ''
        : `<text class="edge-label" x="${shape.label.x}" y="${shape.label.y}">${escapeXml(edge.events.join(' / '))}</text>`;
    return (
      `<g class="transition ${edgeKind(edge)}" data-source="${escapeXml(edge.source)}" data-target="${escapeXml(edge.target)}">` +
      `<title>${escapeXml(`${edge.source} → ${edge.target}: ${edge.events.join(', ')}`)}</title>` +
      `<path class="edge" d="${shape.d}" marker-end="url(#machine-arrow)"/>${label}</g>`
    );
  });
  const nodes = layout.nodes.map((node) => {
    const notes = node.row === 'side' ? sideNotes(graph, node.state, at) : [];
    const noteText = notes
      .map(
        (note, i) =>
          `<text class="state-note" x="${node.x}" y="${node.y + NODE_H / 2 + 16 + i * 14}">${escapeXml(note)}</text>`,
      )
      .join('');
    const initial = node.state === graph.initial ? ' initial' : '';
    return (
      `<g class="state${initial}" data-state="${escapeXml(node.state)}" data-testid="state-${escapeXml(node.state)}">` +
      `<title>${escapeXml(node.state)}</title>` +
      `<rect x="${node.x - NODE_W / 2}" y="${node.y - NODE_H / 2}" width="${NODE_W}" height="${NODE_H}" rx="17"/>` +
      `<text class="state-name" x="${node.x}" y="${node.y + 4}">${escapeXml(node.state)}</text>${noteText}</g>`
    );
  });
  return (
    `<svg class="machine-diagram" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${layout.width} ${layout.height}" ` +
    `role="img" aria-label="connection machine state diagram">${edges.join('')}${nodes.join('')}</svg>`
  );
}

/** The arrowhead every diagram on the page refers to; put once in the page. */
export function machineDiagramDefs(): string {
  return (
    '<svg width="0" height="0" aria-hidden="true" focusable="false" class="svg-defs"><defs>' +
    '<marker id="machine-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">' +
    '<path d="M0,0 L10,5 L0,10 z"/></marker></defs></svg>'
  );
}

function edgeKind(edge: MachineEdge): string {
  if (edge.events.every((event) => event === 'failed')) return 'kind-failed';
  if (edge.events.every((event) => event === 'done')) return 'kind-done';
  return 'kind-command';
}

/** Side-row states get their transitions as text: drawing a label on each crossing edge would bury them. */
function sideNotes(graph: MachineGraph, state: string, at: Map<string, Placed>): string[] {
  const crossing = (edge: MachineEdge) => at.get(edge.source)?.row !== at.get(edge.target)?.row;
  const eventsOf = (edges: MachineEdge[]) => [...new Set(edges.flatMap((edge) => edge.events))].join(', ');
  const incoming = graph.edges.filter((edge) => edge.target === state && crossing(edge));
  const outgoing = graph.edges.filter((edge) => edge.source === state && crossing(edge));
  return [
    ...(incoming.length > 0 ? [`in: ${eventsOf(incoming)}`] : []),
    ...(outgoing.length > 0 ? [`out: ${eventsOf(outgoing)}`] : []),
  ];
}

interface Shape {
  d: string;
  label: { x: number; y: number } | null;
}

function edgeShape(source: Placed, target: Placed, nodes: Placed[]): Shape {
  const halfW = NODE_W / 2;
  const halfH = NODE_H / 2;
  const top = (node: Placed) => node.y - halfH;
  if (source.state === target.state) {
    // A loop over the node's right half.
    const x1 = source.x + 8;
    const x2 = source.x + 40;
    const y = top(source);
    return { d: `M${x1},${y} C${x1},${y - 30} ${x2},${y - 30} ${x2},${y}`, label: { x: x2 + 14, y: y - 22 } };
  }
  if (source.row === target.row) {
    const sameRow = nodes.filter((node) => node.row === source.row).map((node) => node.state);
    const adjacent = sameRow.indexOf(target.state) === sameRow.indexOf(source.state) + 1;
    if (adjacent) {
      return {
        d: `M${source.x + halfW},${source.y} L${target.x - halfW},${target.y}`,
        label: { x: (source.x + target.x) / 2, y: source.y - 7 },
      };
    }
    // Anything else along the row arcs over it (auditing → idle).
    const y = top(source);
    const lift = 64;
    return {
      d: `M${source.x - 20},${y} C${source.x - 20},${y - lift} ${target.x + 20},${y - lift} ${target.x + 20},${y}`,
      label: { x: (source.x + target.x) / 2, y: y - lift * 0.75 - 4 },
    };
  }
  // Between rows: a slight bend to the right of travel keeps A → B and B → A apart.
  // Ends spread along the node's edge toward the other node, so the many edges of a side node fan out.
  const down = target.y > source.y;
  const spread = (toward: number) => Math.max(-(halfW - 12), Math.min(halfW - 12, toward * 0.12));
  const start = {
    x: round(source.x + spread(target.x - source.x)),
    y: down ? source.y + halfH : top(source),
  };
  const end = { x: round(target.x + spread(source.x - target.x)), y: down ? top(target) : target.y + halfH };
  const dx = end.x - start.x;
  const dy = end.y - start.y;
  const length = Math.hypot(dx, dy) || 1;
  const bend = 16;
  const cx = (start.x + end.x) / 2 - (dy / length) * bend;
  const cy = (start.y + end.y) / 2 + (dx / length) * bend;
  return { d: `M${start.x},${start.y} Q${round(cx)},${round(cy)} ${end.x},${end.y}`, label: null };
}

const round = (value: number) => Math.round(value * 10) / 10;
