import { describe, expect, test } from 'vitest';
import { dueEventId, dueHorizon, isDueInSlot, SLOT_MS, slotOf, TICK_EARLY_MS } from './dueSelection.ts';

describe('schedule slots', () => {
  test.each([
    ['2025-06-02T09:15:00.000Z', '2025-06-02T09:15Z'],
    ['2025-06-02T09:15:54.999Z', '2025-06-02T09:15Z'],
    // Read just before a minute (the database's clock behind the cron's, a timer firing early): that minute's tick.
    ['2025-06-02T09:15:55.000Z', '2025-06-02T09:16Z'],
    ['2025-06-02T09:15:59.999Z', '2025-06-02T09:16Z'],
    ['2025-06-02T09:16:00.000Z', '2025-06-02T09:16Z'],
    ['2025-12-31T23:59:30.000Z', '2025-12-31T23:59Z'],
    ['2026-01-01T00:00:00.001Z', '2026-01-01T00:00Z'],
  ])('%s falls in slot %s', (now, slot) => {
    expect(slotOf(new Date(now))).toBe(slot);
  });

  test('a slot is one minute: every reading from its early margin on has the same slot, the next minute another', () => {
    const start = Date.parse('2025-06-02T09:15:00.000Z');
    const readings = [-TICK_EARLY_MS, 0, 1, 29_999, SLOT_MS - TICK_EARLY_MS - 1];
    const slots = new Set(readings.map((ms) => slotOf(new Date(start + ms))));
    expect([...slots]).toEqual(['2025-06-02T09:15Z']);
    expect(slotOf(new Date(start + SLOT_MS - TICK_EARLY_MS))).toBe('2025-06-02T09:16Z');
  });

  test('the event id is the connection and the slot, so it repeats exactly within a slot', () => {
    const slot = slotOf(new Date('2025-06-02T09:15:42.000Z'));
    expect(dueEventId('5f0c7d1e-9a34-4b8e-8a51-0d2c6e4b7f10', slot)).toBe(
      '5f0c7d1e-9a34-4b8e-8a51-0d2c6e4b7f10:2025-06-02T09:15Z',
    );
  });

  // A run ends a few seconds after the tick that started it and counts its interval from there: its next run
  // falls a few seconds into a minute, and the tick at the start of that minute must take it.
  test.each([
    ['2025-06-02T09:15:00.400Z', '2025-06-02T09:15:04.000Z', true],
    ['2025-06-02T09:15:00.400Z', '2025-06-02T09:15:59.999Z', true],
    ['2025-06-02T09:15:00.400Z', '2025-06-02T09:14:00.000Z', true],
    ['2025-06-02T09:15:00.400Z', '2025-06-02T09:16:00.000Z', false],
    ['2025-06-02T09:15:54.999Z', '2025-06-02T09:16:00.001Z', false],
    // A tick reading the clock just before the minute is that minute's: it takes a run set a few seconds into it.
    ['2025-06-02T09:15:59.999Z', '2025-06-02T09:16:04.000Z', true],
    ['2025-06-02T09:15:59.999Z', '2025-06-02T09:17:00.000Z', false],
  ])('at %s a next run of %s is due: %s', (now, nextRunAt, due) => {
    expect(isDueInSlot(new Date(nextRunAt), new Date(now))).toBe(due);
  });

  // Two schedulers on one database look to the same horizon whatever second they tick at: the next whole tick.
  test.each([
    ['2025-06-02T09:15:10.000Z', undefined, '2025-06-02T09:16:00.000Z'],
    ['2025-06-02T09:15:40.000Z', 60_000, '2025-06-02T09:16:00.000Z'],
    ['2025-06-02T09:15:54.999Z', 60_000, '2025-06-02T09:16:00.000Z'],
    ['2025-06-02T09:15:59.999Z', 60_000, '2025-06-02T09:17:00.000Z'],
    ['2025-06-02T09:15:44.999Z', 5_000, '2025-06-02T09:15:50.000Z'],
    ['2025-06-02T09:16:00.000Z', 60_000, '2025-06-02T09:17:00.000Z'],
    ['2025-06-02T09:15:41.250Z', 5_000, '2025-06-02T09:15:45.000Z'],
  ])('at %s a scheduler ticking every %s ms looks to %s', (now, tickMs, horizon) => {
    expect(dueHorizon(new Date(now), tickMs).toISOString()).toBe(horizon);
  });
});
