import { describe, expect, it } from 'vitest';
import { createApiFixture, useSharedStore } from './apiFixture.ts';

const store = useSharedStore();

describe('engagement event ids', () => {
  it('counts a redelivered event once when its id comes back padded with white space', async () => {
    const f = await createApiFixture({ store: store() });
    try {
      const contact = await f.syncedContact();
      const event = (eventId: string) => ({
        eventId,
        contactId: contact.id,
        type: 'open',
        at: '2025-06-01T10:00:00Z',
      });
      const first = await f.call('POST', `${f.base}/engagement`, { body: { events: [event('evt-77')] } });
      expect(first.status).toBe(200);
      // The same webhook redelivered by a sender that pads the id (a trailing newline from a file line, a space).
      const again = await f.call('POST', `${f.base}/engagement`, { body: { events: [event('evt-77 ')] } });
      const after = await f.call('GET', `${f.base}/contacts/${contact.id}`);
      expect({
        again: again.json,
        opens: after.json.contact.contact.emailOpens - contact.contact.emailOpens,
      }).toEqual({
        again: { inserted: [], duplicates: ['evt-77'], unknownContact: [] },
        opens: 1,
      });
    } finally {
      await f.close();
    }
  }, 60_000);

  it('refuses an event id that is only white space', async () => {
    const f = await createApiFixture({ store: store() });
    try {
      const contact = await f.syncedContact();
      const res = await f.call('POST', `${f.base}/engagement`, {
        body: {
          events: [{ eventId: '   ', contactId: contact.id, type: 'open', at: '2025-06-01T10:00:00Z' }],
        },
      });
      expect(res.status).toBe(400);
    } finally {
      await f.close();
    }
  }, 60_000);
});
