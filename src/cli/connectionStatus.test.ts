import { describe, expect, it } from 'vitest';
import { type ConnectionStatus, formatStatuses } from './connectionStatus.ts';
import { formatInstant } from './output.ts';

const stopped = (errorReason: ConnectionStatus['errorReason'], enabled = true): ConnectionStatus => ({
  tenant: 'Harbour Lettings',
  tenantId: '00000000-0000-4000-8000-000000000001',
  provider: 'reapit',
  connectionId: '00000000-0000-4000-8000-000000000002',
  enabled,
  baseUrl: 'https://platform.reapit.cloud',
  baseUrlProblem: null,
  state: 'error',
  cursor: null,
  localCursor: 0,
  window: null,
  cycleId: null,
  attempt: 5,
  resumeAt: null,
  lastError: null,
  errorReason,
  lastAudit: null,
  nextRunAt: '2026-12-01T20:15:00.000Z',
  runningBy: null,
  abandonedBy: null,
  snapshotProblem: null,
  snapshotRestartsOnItsOwn: false,
});

const stopLine = (row: ConnectionStatus) =>
  formatStatuses([row])
    .split('\n')
    .find((line) => line.includes('stopped ('));

describe('formatStatuses', () => {
  it('says when the schedule retries a connection out of attempts, and how to go on now', () => {
    expect(stopLine(stopped('attempts_exhausted'))).toBe(
      `  reapit: stopped (attempts_exhausted); the schedule retries it at ${formatInstant('2026-12-01T20:15:00.000Z')}; ` +
        "to continue now: crm-sync retry --tenant 'Harbour Lettings' --provider reapit",
    );
  });

  it('promises no scheduled retry where none comes: refused credentials, a fatal failure, a disabled connection', () => {
    expect(stopLine(stopped('auth_failed'))).toBe(
      "  reapit: stopped (auth_failed); to continue: crm-sync connection set-credentials, then crm-sync retry --tenant 'Harbour Lettings' --provider reapit",
    );
    expect(stopLine(stopped('fatal'))).not.toMatch(/schedule/);
    expect(stopLine(stopped('attempts_exhausted', false))).not.toMatch(/schedule/);
  });

  it('tells only the reset for a machine in error whose snapshot cannot be restored: a retry refuses it too', () => {
    const problem =
      "it was written by machine version 2 and this crm-sync runs version 1: crm-sync reset --tenant 'Harbour Lettings' --provider reapit restarts it";
    const printed = formatStatuses([{ ...stopped('fatal'), snapshotProblem: problem }]);
    expect(printed).toContain(problem);
    expect(printed).not.toMatch(/retry/);
  });

  it('prints the window of a cycle in progress without milliseconds, its cursor as the CRM sent it', () => {
    const midCycle: ConnectionStatus = {
      ...stopped(null),
      state: 'fetching',
      attempt: 0,
      cycleId: 'cycle-1',
      window: {
        from: { modified: '2025-06-01T07:58:12.0000000Z', externalId: 'OXF1' },
        to: '2025-06-01T08:00:01.120Z',
      },
    };
    expect(formatStatuses([midCycle])).toContain(
      '  reapit: cycle cycle-1 not finished, window 2025-06-01T07:58:12.0000000Z OXF1 → 2025-06-01T08:00:01Z',
    );
  });

  it("shows the control characters of a CRM's answer and cursor rather than writing them", () => {
    const sequence = '\u001b]0;pwned\u0007\u009b2J';
    const failed: ConnectionStatus = {
      ...stopped('fatal'),
      cursor: { modified: '2025-06-01T07:58:12Z', externalId: `OX${sequence}` },
      cycleId: 'cycle-1',
      window: {
        from: { modified: '2025-06-01T07:58:12Z', externalId: `OX${sequence}` },
        to: '2025-06-01T08:00:01Z',
      },
      lastError: {
        kind: 'fatal',
        message: `rejected${sequence}`,
        status: 400,
        phase: 'fetching',
        at: '2025-06-01T08:00:00.000Z',
      },
    };
    const text = formatStatuses([failed]);
    expect(text.replaceAll('\n', '')).not.toMatch(/\p{Cc}/u);
    expect(text).toContain(
      '\n  reapit: cycle cycle-1 not finished, window 2025-06-01T07:58:12Z OX\\u001b]0;pwned\\u0007\\u009b2J →',
    );
    expect(text).toContain(': fatal 400: rejected\\u001b]0;pwned\\u0007\\u009b2J\n');
  });
});
