import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { credentialsSchema } from '../../src/persistence/records.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';

/**
 * The token URL is one of the connection's credentials (Reapit, Alto). One that answers 404 or 405 (a wrong path:
 * `/oauth/token` for `/token`) never will answer otherwise, but only 400/401/403 were a refusal: anything else was
 * `transient`, so the connection backed off five times over half an hour before stopping with "attempts exhausted"
 * and advice to retry, which failed the same way. Such an answer is now `auth_failed` at once: the connection stops,
 * telling the operator to enter the credentials again, and continues from its cursor once they are.
 */
describe.each([404, 405])('a token URL answering %i', (status) => {
  it('stops the connection for new credentials at once, and it continues once they are entered', async () => {
    const wrong = createServer((_req, res) => {
      res.writeHead(status, { 'content-type': 'text/html' });
      res.end('<html>no such page</html>');
    });
    await new Promise<void>((resolve) => wrong.listen(0, '127.0.0.1', resolve));
    const h = await createSyncHarness('reapit', { simulator: { contacts: 4, seed: 3 } });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      const good = credentialsSchema.parse(h.sim.credentials);
      const { port } = wrong.address() as AddressInfo;
      const tokenUrl = `http://127.0.0.1:${port}/oauth/token`;
      must(await h.store.setConnectionCredentials({ ...ref, credentials: { ...good, tokenUrl } }));

      const refused = must(await h.run());
      expect(refused.state).toBe('error');
      expect(refused.context).toMatchObject({
        errorReason: 'auth_failed',
        lastError: { kind: 'auth_failed', status },
      });
      expect(refused.context.lastError?.message).toContain(String(status));

      must(await h.store.setConnectionCredentials({ ...ref, credentials: good }));
      const resumed = must(await h.run('retry'));
      expect(resumed.state).toBe('idle');
      expect(resumed.context.cursor).not.toBeNull();
    } finally {
      await h.close();
      await new Promise((resolve) => wrong.close(resolve));
    }
  });
});
