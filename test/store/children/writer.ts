/**
 * Child process for the durability tests. `write <dir>`: commit batches of 200 contacts forever,
 * printing `committed <n>` after each commit. `open <dir>`: try to open the store and print the outcome.
 */
import { randomUUID } from 'node:crypto';
import { canonicalContactSchema } from '../../../src/core/schemas.ts';
import { openStore } from '../../../src/persistence/openStore.ts';

const [mode, dataDir, secretKey] = process.argv.slice(2);
if (dataDir === undefined || secretKey === undefined)
  throw new Error('usage: writer.ts write|open <dir> <key>');

const opened = await openStore({
  env: { CRM_SYNC_DATA_DIR: dataDir, DATABASE_URL: undefined, CRM_SYNC_SECRET_KEY: secretKey },
  command: `writer ${mode}`,
  notice: () => {},
});
if (!opened.ok) {
  process.stdout.write(`error ${opened.error.kind}: ${opened.error.message}\n`);
  process.exit(3);
}
const store = opened.value;
if (mode === 'open') {
  process.stdout.write('opened\n');
  await store.close();
  process.exit(0);
}

const tenant = await store.createTenant({ name: 'durable', syncIntervalSeconds: 60 });
if (!tenant.ok) throw new Error(tenant.error.message);
const contact = canonicalContactSchema.parse({ firstName: 'Durable' });
for (let batch = 1; ; batch++) {
  const contacts = Array.from({ length: 200 }, () => ({ id: randomUUID(), contact }));
  const written = await store.upsertContacts({ tenantId: tenant.value.id, contacts, now: new Date() });
  if (!written.ok) throw new Error(written.error.message);
  process.stdout.write(`committed ${batch}\n`);
}
