import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Store } from '../../src/persistence/store.ts';
import type { RunnerDeps } from '../../src/runner/connectionRunner.ts';
import { createServerApp } from '../../src/server/app.ts';

/**
 * docs/api.md against the routes the server really registers: a route added or removed without its section in
 * the reference fails here. Each route needs its own heading (the overview table alone would let a deleted
 * section pass), and every `METHOD /path` a heading or table row names must be a registered route.
 */

/** Registering routes reads neither the store nor the runner: any use of these is a change this test should see. */
const untouchable = <T extends object>(name: string): T =>
  new Proxy({} as T, {
    get: (_, property) => {
      throw new Error(`route registration read ${name}.${String(property)}`);
    },
  });

/** `METHOD /path` of every route the server serves, Inngest's included (it is mounted only when configured). */
function registeredRoutes(): string[] {
  const app = createServerApp({
    store: untouchable<Store>('store'),
    runner: untouchable<RunnerDeps>('runner'),
    adminToken: 'docs-test-token-0123456789',
    inngestHandler: async (c) => c.body(null, 204),
  });
  // `ALL` entries are middleware (token, body limit, headers), not routes.
  const routes = app.routes.filter((route) => route.method !== 'ALL').map((r) => `${r.method} ${r.path}`);
  return [...new Set(routes)].sort();
}

const docText = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');

/** The doc's lines outside fenced code blocks: a `# comment` in an example is not a heading. */
function proseLines(markdown: string): string[] {
  const lines: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    else if (!fenced) lines.push(line);
  }
  return lines;
}

/** A route as the doc names it: a code span `` `GET /api/tenants` `` (a query string after the path is left out). */
const ROUTE_MENTION = /`(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (\/[^`\s?]*)(?:\?[^`\s]*)?`/g;

/** Every route named in the given lines; an error body quoting a path (`no route GET /api/x`) is not one. */
function mentions(lines: string[]): Set<string> {
  const found = new Set<string>();
  for (const line of lines) {
    for (const match of line.matchAll(ROUTE_MENTION)) found.add(`${match[1]} ${match[2]}`);
  }
  return found;
}

const lines = proseLines(docText);
const headings = mentions(lines.filter((line) => /^#{1,6} /.test(line)));
const tableRows = mentions(lines.filter((line) => /^\s*\|/.test(line)));
const routes = registeredRoutes();

describe('docs/api.md', () => {
  it('finds the routes the server registers', () => {
    expect(routes).toContain('GET /api/tenants');
    expect(routes.length).toBeGreaterThan(15);
  });

  it('has a section heading for every registered route', () => {
    expect(routes.filter((route) => !headings.has(route))).toEqual([]);
  });

  it('lists every registered route in a table row (the overview)', () => {
    expect(routes.filter((route) => !tableRows.has(route))).toEqual([]);
  });

  it('names no route in a heading or table row that the server does not register', () => {
    const documented = [...new Set([...headings, ...tableRows])].sort();
    expect(documented.filter((route) => !routes.includes(route))).toEqual([]);
  });
});
