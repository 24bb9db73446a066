import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { isPidAlive } from '../../src/persistence/leaseOwner.ts';
import { postgresAvailable } from '../support/postgresServer.ts';
import { describeStoreAudit } from './auditSuite.ts';
import { postgresBackend, unwrap, useBackend } from './backends.ts';
import { describeStoreData } from './dataSuite.ts';
import { at, tenantWithConnection } from './fixtures.ts';
import { describeStorePlans } from './plansSuite.ts';
import { describeStore } from './storeSuite.ts';

describe.runIf(postgresAvailable('the store suite'))('PostgreSQL server', () => {
  const backend = useBackend(postgresBackend);
  describeStore('Postgres', backend);
  describeStoreData('Postgres', backend);
  describeStoreAudit('Postgres', backend);
  describeStorePlans('Postgres', backend);

  it('holds a lease whose holder’s session lock is held, though its pid is none here (a container on a host of the same name)', async () => {
    const database = await backend().createDatabase();
    const [mine, theirs] = [unwrap(await database.open()), unwrap(await database.open())];
    try {
      const { ref } = await tenantWithConnection(mine);
      const pid = 4_194_303;
      expect(isPidAlive(pid)).toBe(false);
      const sameHostName = `${hostname()}:${pid}:${randomUUID()}`;
      unwrap(await theirs.acquireLease({ ...ref, owner: sameHostName, ttlMs: 60_000, now: at(0) }));
      const local = `${hostname()}:${process.pid}:${randomUUID()}`;
      expect(await mine.acquireLease({ ...ref, owner: local, ttlMs: 60_000, now: at(1) })).toMatchObject({
        ok: false,
        error: { kind: 'lease_held', owner: sameHostName },
      });
      unwrap(await theirs.heartbeatLease({ ...ref, owner: sameHostName, ttlMs: 60_000, now: at(2) }));
    } finally {
      await mine.close();
      await theirs.close();
      await database.drop();
    }
  });

  it('takes over at once a lease whose holder’s database session has ended', async () => {
    const database = await backend().createDatabase();
    const [mine, theirs] = [unwrap(await database.open()), unwrap(await database.open())];
    try {
      const { ref } = await tenantWithConnection(mine);
      // Another host: its pid cannot be checked, only its session lock tells whether it lives.
      const remote = `other-host:4242:${randomUUID()}`;
      unwrap(await theirs.acquireLease({ ...ref, owner: remote, ttlMs: 60_000, now: at(0) }));
      const local = `this-host:1:${randomUUID()}`;
      expect(await mine.acquireLease({ ...ref, owner: local, ttlMs: 60_000, now: at(1) })).toMatchObject({
        ok: false,
        error: { kind: 'lease_held', owner: remote },
      });

      await theirs.close();
      const taken = unwrap(await mine.acquireLease({ ...ref, owner: local, ttlMs: 60_000, now: at(2) }));
      expect(taken.owner).toBe(local);
      unwrap(await mine.releaseLease({ ...ref, owner: local }));
    } finally {
      await mine.close();
      await theirs.close();
      await database.drop();
    }
  });
});
