import { expect, it } from 'vitest';
import { drain } from '../../../test/conformance/providerSuite.ts';
import { createStreetProvider } from './adapter.ts';

/**
 * A Street that honours every documented filter as the simulator does (strict `updated_from`/`updated_to`,
 * `page[size]` at most 100) but lists by id: [S3] documents no order for `GET /people`, and a backend without one
 * commonly serves rows by primary key. Re-anchored at each page's last record, the listing skipped half the window.
 */
function streetListingById(people: Array<{ id: string; updated_at: string }>): typeof fetch {
  return async (input) => {
    const q = new URL(String(input)).searchParams;
    const from = q.get('filter[updated_from]');
    const to = q.get('filter[updated_to]');
    const size = Math.min(Number(q.get('page[size]') ?? 25), 100);
    const number = Number(q.get('page[number]') ?? 1);
    const rows = (q.get('filter[trashed]') === 'only' ? [] : people)
      .filter((p) => from === null || Date.parse(p.updated_at) > Date.parse(from))
      .filter((p) => to === null || Date.parse(p.updated_at) < Date.parse(to))
      .sort((a, b) => (a.id < b.id ? -1 : 1));
    const data = rows.slice((number - 1) * size, number * size).map((p) => ({
      id: p.id,
      type: 'person',
      attributes: { first_name: 'A', last_name: `P${p.id}`, updated_at: p.updated_at },
    }));
    const pagination = {
      total: rows.length,
      count: data.length,
      per_page: size,
      current_page: number,
      total_pages: Math.ceil(rows.length / size),
    };
    return new Response(JSON.stringify({ data, meta: { pagination } }), {
      status: 200,
      headers: { 'content-type': 'application/vnd.api+json' },
    });
  };
}

it('lists every person in the window when Street does not list by updated_at', async () => {
  const start = Date.parse('2026-01-01T00:00:00Z');
  // 250 people saved a second apart, their ids unrelated to the order of their saves.
  const people = Array.from({ length: 250 }, (_, i) => ({
    id: `${((i * 7919) % 1000).toString().padStart(4, '0')}-${i}`,
    updated_at: new Date(start + i * 1000).toISOString().replace('.000Z', 'Z'),
  }));
  const provider = createStreetProvider({
    baseUrl: 'https://street.example/open-api/v1',
    credentials: { apiToken: 't' },
    fetch: streetListingById(people),
  });
  const pages = await drain(provider, { from: null, to: '2026-02-01T00:00:00.000Z' });
  const listed = new Set(pages.flatMap((page) => page.records.map((r) => r.externalId)));
  expect(listed.size).toBe(people.length);
});
