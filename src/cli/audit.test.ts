import { describe, expect, it } from 'vitest';
import type { AuditEntry } from '../persistence/audit.ts';
import { formatAudit } from './audit.ts';

const conflict = {
  contactId: '7d2e',
  field: 'mobilePhone',
  crm: '07700 900123',
  local: '07700 900999',
} as const;

function entry(conflicts: AuditEntry['body']['conflicts']): AuditEntry {
  return {
    id: 1,
    tenantId: '00000000-0000-4000-8000-000000000001',
    connectionId: '00000000-0000-4000-8000-000000000002',
    provider: 'alto',
    body: {
      cycleId: 'c1',
      window: { from: null, to: '2025-06-01T08:00:00.000Z' },
      fetched: 1,
      written: { created: 0, updated: 0, unchanged: 1 },
      conflicts,
      duplicatesSuppressed: [],
      errors: [],
      startedAt: '2025-06-01T08:00:00.000Z',
      finishedAt: '2025-06-01T08:00:03.000Z',
      outcome: 'completed',
    },
    itemCounts: { conflicts: conflicts.length, duplicatesSuppressed: 0, errors: 0 },
  };
}

describe('audit, human output', () => {
  it("prints a conflict's base and why its winner won", () => {
    const lines = formatAudit([
      entry([
        { ...conflict, base: '07700 900111', winner: 'crm', reason: 'both-changed-resolved-by-authority' },
        { ...conflict, base: null, winner: 'nurturehub', reason: 'both-changed-resolved-by-recency' },
      ]),
    ]).split('\n');
    expect(lines.slice(2, 4)).toEqual([
      '    conflict  7d2e mobilePhone: was "07700 900111", crm "07700 900123", local "07700 900999" → crm wins as the field\'s owner',
      '    conflict  7d2e mobilePhone: was null, crm "07700 900123", local "07700 900999" → nurturehub wins, the later edit another CRM of the tenant holds',
    ]);
  });

  it('prints a conflict an earlier version audited without base or reason as it was', () => {
    const [, , line] = formatAudit([entry([{ ...conflict, winner: 'crm' }])]).split('\n');
    expect(line).toBe('    conflict  7d2e mobilePhone: crm "07700 900123", local "07700 900999" → crm wins');
  });

  it("shows a CRM's control characters in conflict, duplicate and error lines rather than writing them", () => {
    const sequence = '\u001b]0;pwned\u0007\u001b[2J';
    const audited = entry([{ ...conflict, crm: `${sequence}x`, winner: 'crm' }]);
    audited.body.duplicatesSuppressed = [
      { incoming: `OX${sequence}`, matched: '7d2e', reason: `same email${sequence}` },
    ];
    audited.body.errors = [{ status: 400, message: `bad${sequence}\u009b2J`, retry: false }];
    audited.itemCounts = { conflicts: 1, duplicatesSuppressed: 1, errors: 1 };
    const text = formatAudit([audited]);
    expect(text.replaceAll('\n', '')).not.toMatch(/\p{Cc}/u);
    expect(text).toContain('crm "\\u001b]0;pwned\\u0007\\u001b[2Jx"');
    expect(text).toContain('duplicate OX\\u001b]0;pwned\\u0007\\u001b[2J → 7d2e');
    expect(text).toContain('error     400 bad\\u001b]0;pwned\\u0007\\u001b[2J\\u009b2J');
  });
});
