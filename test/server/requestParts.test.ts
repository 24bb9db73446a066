import { describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, createApiFixture, useSharedStore } from './apiFixture.ts';

const store = useSharedStore();

type Issue = { code: string; path: unknown[]; keys?: string[] };

/** Each issue as `path` (or `{keys}` for unknown keys), to compare regardless of zod's other fields. */
const where = (issues: Issue[]) =>
  issues.map((issue) =>
    issue.code === 'unrecognized_keys' ? `{${issue.keys?.join(',')}}` : issue.path.join('.'),
  );

describe('a request bad in more than one part', () => {
  it('hears of every part in one 400: path, query and body, in that order', async () => {
    const f = await createApiFixture({ store: store() });
    const badTenant = '/api/tenants/not-a-uuid';
    const cases: Array<[string, string, { body?: unknown }, string[], string[]]> = [
      ['GET', `${badTenant}/connections?state=idle`, {}, ['path', 'query'], ['tenantId', '{state}']],
      ['GET', `${badTenant}/audit?limit=0`, {}, ['path', 'query'], ['tenantId', 'limit']],
      [
        'GET',
        `${f.base}/audit/0/items/bogus?limit=0&offset=-1`,
        {},
        ['path', 'query'],
        ['auditId', 'list', 'offset', 'limit'],
      ],
      ['GET', `${badTenant}/contacts?afterId=7`, {}, ['path', 'query'], ['tenantId', 'afterId']],
      // A repeated parameter no longer hides the query's other problems.
      ['GET', `${f.base}/audit?limit=1&limit=300&colour=blue`, {}, ['query'], ['limit', '{colour}']],
      [
        'PATCH',
        `${badTenant}?x=1`,
        { body: { interval: 15 } },
        ['path', 'query', 'body'],
        ['tenantId', '{x}', 'interval'],
      ],
      [
        'PATCH',
        `${badTenant}/connections/42?x=1`,
        { body: { enabled: 'yes' } },
        ['path', 'query', 'body'],
        ['tenantId', 'connectionId', '{x}', 'enabled'],
      ],
      [
        'POST',
        `${badTenant}/connections/42/sync?full=1`,
        { body: {} },
        ['path', 'query', 'body'],
        ['tenantId', 'connectionId', '{full}'],
      ],
      ['POST', '/api/tenants?x=1', { body: { name: '' } }, ['query', 'body'], ['{x}', 'name', 'interval']],
      ['POST', `${badTenant}/engagement`, { body: { events: [] } }, ['path', 'body'], ['tenantId', 'events']],
    ];
    try {
      for (const [method, path, options, parts, issuePaths] of cases) {
        const label = `${method} ${path} ${JSON.stringify(options)}`;
        const response = await f.call(method, path, options);
        expect(response.status, label).toBe(400);
        const named = [...response.json.error.matchAll(/^invalid (path|query|body)/gm)].map((m) => m[1]);
        expect(named, label).toEqual(parts);
        expect(where(response.json.issues), label).toEqual(issuePaths);
        expect(Object.keys(response.json).sort(), label).toEqual(['error', 'issues']);
      }

      // A bad path beside a body not declared JSON: the 400 for the path also says what the body lacked.
      const undeclared = await f.app.request(`${badTenant}?x=1`, {
        method: 'PATCH',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'text/plain' },
        body: '{"interval":"1h"}',
      });
      expect(undeclared.status).toBe(400);
      const body = (await undeclared.json()) as { error: string; issues: Issue[] };
      expect(body.error).toMatch(
        /^invalid path: [\s\S]*\ninvalid query: [\s\S]*\nexpected Content-Type: application\/json \(or a JSON type, application\/\*\+json\), got text\/plain$/,
      );
      expect(where(body.issues)).toEqual(['tenantId', '{x}']);
    } finally {
      await f.close();
    }
  });
});
