import { openApp } from '../main.ts';
import { runConnection } from '../runner/connectionRunner.ts';

/**
 * The demo's crash: a separate process runs one cycle of one connection and kills itself with SIGKILL the
 * moment the provider has answered the first create or update — the provider applied the write, the ledger
 * never heard of it. Usage: crashChild.ts TENANT_ID CONNECTION_ID (data directory from the environment).
 */
const [tenantId, connectionId] = process.argv.slice(2);
if (tenantId === undefined || connectionId === undefined) {
  process.stderr.write('usage: crashChild.ts TENANT_ID CONNECTION_ID\n');
  process.exit(2);
}
const app = await openApp({ command: 'demo crash child' });
if (!app.ok) {
  process.stderr.write(`${app.error.message}\n`);
  process.exit(2);
}
const killAfterWrite: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  const method = (init?.method ?? 'GET').toUpperCase();
  const isTokenCall = String(input instanceof Request ? input.url : input).includes('/token');
  if (['POST', 'PATCH', 'PUT'].includes(method) && !isTokenCall && response.status < 300) {
    process.kill(process.pid, 'SIGKILL');
  }
  return response;
};
await runConnection(
  { ...app.value.runner, providerOptions: () => ({ fetch: killAfterWrite }) },
  { tenantId, connectionId },
);
process.stderr.write('the crash child finished without writing anything\n');
process.exit(3);
