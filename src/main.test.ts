import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { openThroughHolder } from './main.ts';

const holderAt = (adminUrl: string) => ({
  pid: 4242,
  host: hostname(),
  command: 'crm-sync serve',
  startedAt: '2026-12-05T12:00:00.000Z',
  adminUrl,
});
const source = {
  CRM_SYNC_ADMIN_TOKEN: 'a-configured-admin-token',
  CRM_SYNC_DATA_DIR: '/nonexistent/crm-sync',
};

describe('openThroughHolder', () => {
  // Its store route answers loopback callers only: `serve --host 192.0.2.2` refused every call, and each command
  // failed with exit 1, as if the holder had broken, instead of saying why it cannot go through it (exit 2).
  it('refuses a holder listening on an address other than loopback, naming the address', async () => {
    const elsewhere: Array<[adminUrl: string, host: string]> = [
      ['http://192.0.2.2:4000', '192.0.2.2:4000'],
      ['http://[2001:db8::1]:4000', '[2001:db8::1]:4000'],
      ['http://crm-sync.internal:4000', 'crm-sync.internal:4000'],
    ];
    for (const [adminUrl, host] of elsewhere) {
      expect(await openThroughHolder({ holder: holderAt(adminUrl), source })).toEqual({
        ok: false,
        error: `it listens on ${host}, not on loopback, and serves its store to loopback only: run it with --host 127.0.0.1 or 0.0.0.0`,
      });
    }
  });

  it('goes through a holder on loopback', async () => {
    for (const adminUrl of ['http://127.0.0.1:4000', 'http://[::1]:4000', 'http://localhost:4000']) {
      const through = await openThroughHolder({ holder: holderAt(adminUrl), source });
      expect(through.ok, adminUrl).toBe(true);
    }
  });
});
