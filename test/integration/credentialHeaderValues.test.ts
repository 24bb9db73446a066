import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeIssues } from '../../src/core/zodIssues.ts';
import { credentialsSchema } from '../../src/persistence/records.ts';
import type { ProviderName } from '../../src/providers/provider.ts';
import { getProvider } from '../../src/providers/registry.ts';
import { loadConnectionView } from '../../src/server/connectionView.ts';
import { cliEnv, runCli } from '../support/cliProcess.ts';
import { startSimulator } from '../support/simulators.ts';
import { createSyncHarness, must } from '../support/syncHarness.ts';
import { tempDirs } from '../support/tempDirs.ts';

/**
 * A key or token is sent as an HTTP header, and fetch refuses a header value with a line break or NUL inside it
 * with an error that quotes the value whole: `TypeError: Headers.append: "<the key>" is an invalid header value`.
 * That error became the call's message, so a key pasted with a line break in it (two lines of a file, `jq
 * --rawfile` of a key file and its comment) was written into the connection's last error, its audit entries, the
 * admin API and the worker's log, on every attempt, while the connection backed off as if the CRM were down.
 * Such a value is now refused where it comes in, naming the field and never quoting it.
 */
const SECRET = 'never-in-clear';
const BROKEN = `key-line-one\n${SECRET}`;

/** Each provider's credentials with `BROKEN` in the field sent as a header. */
const broken: Record<ProviderName, { field: string; credentials: Record<string, unknown> }> = {
  reapit: {
    field: 'customerId',
    credentials: { clientId: 'id', clientSecret: 'secret', customerId: BROKEN },
  },
  alto: { field: 'agencyRef', credentials: { clientId: 'id', clientSecret: 'secret', agencyRef: BROKEN } },
  street: { field: 'apiToken', credentials: { apiToken: BROKEN } },
  agentos: { field: 'apiKey', credentials: { apiKey: BROKEN, shortName: 'acme', branchId: 'B1' } },
  loop: { field: 'apiKey', credentials: { apiKey: BROKEN } },
};

const freshDataDir = (() => {
  const root = tempDirs('crm-sync-header-values-');
  return () => join(root(), 'data');
})();

describe('credentials sent as an HTTP header', () => {
  it.each(Object.entries(broken))(
    '%s: a line break inside the header field is refused, naming the field, never quoting it',
    (name, { field, credentials }) => {
      const entry = getProvider(name as ProviderName) ?? expect.unreachable();
      const checked = entry.credentialsSchema.safeParse(credentials);
      expect(checked.success).toBe(false);
      if (checked.success) return;
      expect(checked.error.issues.map((i) => i.path.join('.'))).toEqual([field]);
      expect(describeIssues(checked.error)).toMatch(new RegExp(`^${field}: .*line break`));
      expect(JSON.stringify(checked.error.issues)).not.toContain(SECRET);
      // What fetch takes as it is: white space around the value, which it trims.
      expect(entry.credentialsSchema.safeParse({ ...credentials, [field]: ' key\n' }).success).toBe(true);
    },
  );

  it('crm-sync connection add refuses it: exit 2, the field named, the value not quoted', async () => {
    const run = await runCli(cliEnv(freshDataDir()), [
      ...'connection add --tenant acme --provider loop --base-url http://127.0.0.1:1'.split(' '),
      '--credentials',
      JSON.stringify({ apiKey: BROKEN }),
    ]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toMatch(/--credentials do not fit loop: apiKey: .*line break/);
    expect(run.stderr).not.toContain(SECRET);
  }, 240_000);

  it('a connection stored with one (an earlier version took it) is refused at run time, quoting nothing', async () => {
    const h = await createSyncHarness('loop', { simulator: { contacts: 3 } });
    try {
      const ref = { tenantId: h.tenantId, connectionId: h.connectionId };
      must(
        await h.store.setConnectionCredentials({
          ...ref,
          credentials: credentialsSchema.parse(broken.loop.credentials),
        }),
      );
      const run = await h.run();
      expect(run).toMatchObject({ ok: false, error: { kind: 'provider' } });
      expect(JSON.stringify(run)).toMatch(/apiKey/);
      const view = must(await loadConnectionView(h.store, ref, new Date()));
      const audit = must(await h.store.listAudit(ref));
      for (const shown of [run, view, audit]) expect(JSON.stringify(shown)).not.toContain(SECRET);
      expect((await h.sim.control.stats()).requests).toBe(0);
    } finally {
      await h.close();
    }
  });

  it('a Reapit token answered with a line break inside is not sent, nor quoted', async () => {
    const token = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: BROKEN, token_type: 'Bearer', expires_in: 3600 }));
    });
    await new Promise<void>((resolve) => token.listen(0, '127.0.0.1', resolve));
    const sim = await startSimulator('reapit', { contacts: 3 });
    try {
      const { port } = token.address() as AddressInfo;
      const created = getProvider('reapit')?.createProvider({
        baseUrl: sim.baseUrl,
        credentials: { ...sim.credentials, tokenUrl: `http://127.0.0.1:${port}/token` },
      });
      if (!created?.ok) throw new Error('provider');
      const listed = await created.value.listChanges({
        window: { from: null, to: new Date().toISOString() },
        pageToken: null,
      });
      expect(listed).toMatchObject({ ok: false, error: { kind: 'validation' } });
      expect(JSON.stringify(listed)).not.toContain(SECRET);
    } finally {
      await sim.close();
      await new Promise((resolve) => token.close(resolve));
    }
  });
});
