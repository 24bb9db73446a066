import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { useSharedStore } from '../../test/support/sharedStore.ts';
import { printAuditSummary, printStatusTable } from './report.ts';

const store = useSharedStore();

describe("the demo's summary tables", () => {
  it('print times as status and audit do: UTC ISO 8601 without milliseconds', async () => {
    const tenant = await store().createTenant({
      name: `demo-times-${randomUUID()}`,
      syncIntervalSeconds: 900,
    });
    if (!tenant.ok) throw new Error(tenant.error.message);
    const connection = await store().addConnection({
      tenantId: tenant.value.id,
      provider: 'reapit',
      baseUrl: 'http://127.0.0.1:9',
      credentials: { clientId: 'id-1', clientSecret: 'secret-1' },
      nextRunAt: new Date('2026-12-04T22:19:53.944Z'),
    });
    if (!connection.ok) throw new Error(connection.error.message);
    const committed = await store().commitCycle({
      tenantId: tenant.value.id,
      connectionId: connection.value.id,
      audit: {
        cycleId: randomUUID(),
        window: { from: null, to: '2026-12-04T22:04:53.900Z' },
        fetched: 20,
        written: { created: 0, updated: 0, unchanged: 20 },
        conflicts: [],
        duplicatesSuppressed: [],
        errors: [],
        startedAt: '2026-12-04T22:04:53.900Z',
        finishedAt: '2026-12-04T22:04:53.940Z',
        outcome: 'completed',
      },
    });
    if (!committed.ok) throw new Error(committed.error.message);

    const lines: string[] = [];
    await printStatusTable({ store: store() }, (line) => lines.push(line));
    await printAuditSummary({ store: store() }, (line) => lines.push(line));
    const ours = lines.filter((line) => line.startsWith(tenant.value.name));
    expect(ours).toHaveLength(2);
    const [status, audit] = ours;
    expect(status).toContain(' 2026-12-04T22:19:53Z ');
    expect(audit).toMatch(/ 2026-12-04T22:04:53Z$/);
    for (const line of lines) expect(line).not.toMatch(/\d{2}:\d{2}:\d{2}\.\d/);
  });
});
