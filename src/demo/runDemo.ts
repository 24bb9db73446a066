import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UsageError } from '../cli/usageError.ts';
import { idempotencyKey } from '../core/ids.ts';
import type { CanonicalContact } from '../core/schemas.ts';
import { type App, openApp } from '../main.ts';
import { type Connection, credentialsSchema } from '../persistence/records.ts';
import { getProvider } from '../providers/registry.ts';
import { runConnection } from '../runner/connectionRunner.ts';
import { type DemoSimulator, demoTenants, isRegistered, startDemoSimulators } from './demoWorld.ts';
import { printAuditSummary, printStatusTable } from './report.ts';

/** One claim the demo makes and checks; the demo fails (exit 1) if any does not hold. */
interface Check {
  claim: string;
  holds: boolean;
  detail: string;
}

export interface DemoOptions {
  /** The embedded database's directory; recreated on every run, so the caller makes sure no process holds it. */
  dataDir: string;
  contactsPerCrm: number;
  out: (line: string) => void;
  env: Record<string, string | undefined>;
}

/**
 * The main job on the embedded default: five CRM simulators, two agencies, sync cycles while agency users
 * edit their CRMs and NurtureHub records engagement, a conflict resolved each way, a duplicate suppressed,
 * a 429 burst absorbed and a crash mid-push recovered — each claim checked, not just printed.
 */
export async function runDemo(
  options: DemoOptions,
): Promise<{ checks: Check[]; app: App; sims: DemoSimulator[] }> {
  // Its database first: a directory it cannot recreate or open is one line and exit 2, before anything starts.
  await rm(options.dataDir, { recursive: true, force: true }).catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(
      `cannot recreate the demo's directory ${options.dataDir} (${error.code ?? error.message})`,
    );
  });
  const source = { ...options.env, CRM_SYNC_DATA_DIR: options.dataDir, DATABASE_URL: undefined };
  const opened = await open(source);
  const world: DemoWorld = { app: opened, sims: [] };
  try {
    world.sims = await startDemoSimulators(options.contactsPerCrm);
    return await runSteps(options, source, opened, world);
  } catch (error) {
    await world.app?.close();
    for (const sim of world.sims) await sim.close();
    throw error;
  }
}

/** What the demo has open, to close should a step throw: the app is `null` while the crash step has it closed. */
interface DemoWorld {
  app: App | null;
  sims: DemoSimulator[];
}

/** The demo's steps, on its database (`opened`, which the crash step closes and opens again) and simulators. */
async function runSteps(
  options: DemoOptions,
  source: Record<string, string | undefined>,
  opened: App,
  world: DemoWorld,
): Promise<{ checks: Check[]; app: App; sims: DemoSimulator[] }> {
  const { out } = options;
  const { sims } = world;
  out(`Started ${sims.length} CRM simulators: ${sims.map((s) => `${s.provider} ${s.baseUrl}`).join(', ')}`);
  let app = opened;
  const checks: Check[] = [];
  const connections: Connection[] = [];
  for (const tenant of demoTenants) {
    const created = must(
      await app.store.createTenant({ name: tenant.name, syncIntervalSeconds: tenant.interval }),
    );
    for (const provider of tenant.providers.filter(isRegistered)) {
      const sim = sims.find((s) => s.provider === provider);
      if (sim === undefined) continue;
      connections.push(
        must(
          await app.store.addConnection({
            tenantId: created.id,
            provider,
            baseUrl: sim.baseUrl,
            credentials: credentialsSchema.parse(sim.credentials),
            nextRunAt: new Date(),
          }),
        ),
      );
    }
    out(`Tenant "${tenant.name}" with ${tenant.providers.filter(isRegistered).join(', ')}`);
  }

  out('\n1. Initial sync of every connection');
  await syncAll(app, connections, out);
  const firstAudits = await Promise.all(connections.map((c) => latestAudit(app, c)));
  const suppressed = firstAudits.reduce((n, a) => n + (a?.itemCounts.duplicatesSuppressed ?? 0), 0);
  const example = firstAudits.flatMap((a) => a?.body.duplicatesSuppressed ?? [])[0];
  checks.push({
    claim: 'duplicates in the CRMs are suppressed and explained',
    holds: suppressed > 0 && example !== undefined,
    detail: example ? `${suppressed} suppressed, e.g. ${example.incoming}: ${example.reason}` : 'none',
  });

  out('\n2. Agency users edit their CRMs; NurtureHub records engagement; the same conflict on both sides');
  const reapit = connections.find((c) => c.provider === 'reapit');
  const conflict = reapit ? await makeConflicts(app, reapit) : null;
  for (const sim of sims) await sim.control.edits({ count: 8, seed: 5 });
  await recordEngagement(app, connections);
  await syncAll(app, connections, out);
  if (reapit) {
    // No conflict made (no linked contact to edit, an edit refused) fails both claims rather than skip them.
    const fields = conflict === null ? [] : ((await latestAudit(app, reapit))?.body.conflicts ?? []);
    const won = (winner: 'crm' | 'nurturehub', field: string) =>
      fields.find((f) => f.contactId === conflict?.contactId && f.winner === winner && f.field === field);
    const notSeen =
      conflict === null ? 'no conflict could be made: no Reapit contact was edited' : 'not seen';
    const crmWin = won('crm', 'email');
    const hubWin = won('nurturehub', 'intentScore');
    checks.push({
      claim: 'a contact-field conflict is resolved for the CRM',
      holds: crmWin !== undefined,
      detail: crmWin
        ? `${crmWin.field}: CRM ${JSON.stringify(crmWin.crm)} beat local ${JSON.stringify(crmWin.local)}`
        : notSeen,
    });
    checks.push({
      claim: 'an engagement-field conflict is resolved for NurtureHub',
      holds: hubWin !== undefined,
      detail: hubWin
        ? `${hubWin.field}: local ${JSON.stringify(hubWin.local)} beat CRM ${JSON.stringify(hubWin.crm)}`
        : notSeen,
    });
  }

  out('\n3. A 429 burst: another app spends the CRM budget just before our cycle');
  if (reapit) {
    const sim = sims.find((s) => s.provider === 'reapit') as DemoSimulator;
    const before = await sim.control.stats();
    await sim.control.faults({ rateLimitBurst: 3 });
    await sim.control.edits({ count: 5, seed: 9 });
    const outcome = await runConnection(app.runner, ref(reapit));
    const after = await sim.control.stats();
    const absorbed = after.rateLimited - before.rateLimited;
    checks.push({
      claim: 'a 429 burst is absorbed and the cycle completes',
      holds: absorbed > 0 && outcome.ok && outcome.value.state === 'idle',
      detail: `${absorbed} responses were 429; the cycle ended ${outcome.ok ? outcome.value.state : outcome.error.message}`,
    });
  }

  out('\n4. A crash mid-push: a web lead is created in Reapit and the process dies before recording it');
  if (reapit) {
    const sim = sims.find((s) => s.provider === 'reapit') as DemoSimulator;
    const lead = await importLead(app, reapit.tenantId);
    const creates = (await sim.control.stats()).creates;
    world.app = null;
    await app.close();
    const signal = await runCrashChild(options.dataDir, reapit);
    // The child dies after its first write: the claim is about a create, so that write must have been the lead's.
    const createdByChild = (await sim.control.stats()).creates - creates;
    app = await open(source);
    world.app = app;
    const recovered = await runConnection(app.runner, ref(reapit));
    const records = await sim.control.records();
    const copies = records.filter((r) => JSON.stringify(r).toLowerCase().includes(lead.email)).length;
    const createdAfter = (await sim.control.stats()).creates - creates;
    checks.push({
      claim: 'a crash between the CRM applying a create and the ledger recording it leaves one contact',
      holds:
        signal === 'SIGKILL' &&
        createdByChild === 1 &&
        recovered.ok &&
        recovered.value.state === 'idle' &&
        copies === 1 &&
        createdAfter === 1,
      detail: `child ended by ${signal} after ${createdByChild} create(s); after recovery the CRM holds ${copies} record(s) for ${lead.email}, ${createdAfter} create(s) sent`,
    });
  }

  out(
    "\n5. The lead reaches the agency's other CRMs; then a cycle that reads back our own writes writes nothing",
  );
  await syncAll(app, connections, out);
  const statsBefore = await Promise.all(sims.map((s) => s.control.stats()));
  const echoRound = await syncAll(app, connections, out);
  // Nothing written by cycles that did not run (failed, backing off) would prove nothing.
  const completed = echoRound.every((o) => o.ok && o.value.state === 'idle');
  const statsAfter = await Promise.all(sims.map((s) => s.control.stats()));
  const writes = statsAfter.reduce(
    (sum, s, i) =>
      sum + s.writes + s.creates - (statsBefore[i]?.writes ?? 0) - (statsBefore[i]?.creates ?? 0),
    0,
  );
  checks.push({
    claim: 'a cycle that sees only our own writes coming back (echoes) writes nothing',
    holds: completed && writes === 0,
    detail: completed ? `${writes} writes` : `${writes} writes, but not every cycle completed (idle)`,
  });

  out('');
  await printStatusTable(app, out);
  out('');
  await printAuditSummary(app, out);
  out('');
  for (const check of checks) out(`${check.holds ? '✓' : '✗'} ${check.claim} — ${check.detail}`);
  return { checks, app, sims };
}

async function open(source: Record<string, string | undefined>): Promise<App> {
  const app = await openApp({ command: 'demo', source });
  // A directory it cannot write, another process on its database: one line and exit 2, as any command's.
  if (!app.ok) throw new UsageError(`cannot open the demo's database: ${app.error.message}`);
  return app.value;
}

function must<T>(result: { ok: true; value: T } | { ok: false; error: { message: string } }): T {
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

const ref = (c: Connection) => ({ tenantId: c.tenantId, connectionId: c.id });

async function syncAll(
  app: App,
  connections: Connection[],
  out: (line: string) => void,
): Promise<Awaited<ReturnType<typeof runConnection>>[]> {
  const outcomes = await Promise.all(connections.map((c) => runConnection(app.runner, ref(c))));
  for (const [i, outcome] of outcomes.entries()) {
    const c = connections[i] as Connection;
    const audit = outcome.ok ? outcome.value.context.lastAudit : null;
    out(
      `   ${c.provider.padEnd(8)} ${outcome.ok ? outcome.value.state : `failed: ${outcome.error.message}`}` +
        (audit
          ? ` — fetched ${audit.counts.fetched}, sent ${audit.counts.sent}, conflicts ${audit.counts.conflicts}`
          : ''),
    );
  }
  return outcomes;
}

async function latestAudit(app: App, connection: Connection) {
  const audit = must(
    await app.store.listAudit({ tenantId: connection.tenantId, connectionId: connection.id, limit: 1 }),
  );
  return audit.entries[0];
}

/**
 * The same contact edited on both sides between two cycles: its e-mail (a CRM field) and its intent score
 * (a NurtureHub field), each to a different value on each side.
 */
async function makeConflicts(app: App, connection: Connection): Promise<{ contactId: string } | null> {
  const contacts = must(await app.store.listContacts({ tenantId: connection.tenantId, limit: 50 }));
  const target = contacts.find(
    (c) => c.links.some((l) => l.connectionId === connection.id) && c.contact.email !== null,
  );
  const link = target?.links.find((l) => l.connectionId === connection.id);
  if (target === undefined || link === undefined) return null;
  const entry = getProvider(connection.provider);
  const credentials = must(await app.store.getConnectionCredentials(ref(connection)));
  const provider = entry ? entry.createProvider({ baseUrl: connection.baseUrl, credentials }) : null;
  if (provider === null || !provider.ok) return null;
  const edited = await provider.value.update({
    externalId: link.externalId,
    patch: { email: 'agency.edit@example.co.uk', intentScore: 12 },
    version: link.remoteVersion,
  });
  if (!edited.ok) throw new Error(`the agency-side edit failed: ${edited.error.message}`);
  const local: CanonicalContact = {
    ...target.contact,
    email: 'nurturehub.edit@example.co.uk',
    intentScore: 87,
  };
  must(
    await app.store.upsertContacts({
      tenantId: connection.tenantId,
      contacts: [{ id: target.id, contact: local }],
      now: new Date(),
    }),
  );
  return { contactId: target.id };
}

/** An open and a click for three contacts of each tenant (engagement is the tenant's, whatever its CRMs). */
async function recordEngagement(app: App, connections: Connection[]): Promise<void> {
  const now = Date.now();
  for (const tenantId of new Set(connections.map((c) => c.tenantId))) {
    const contacts = must(await app.store.listContacts({ tenantId, limit: 3 }));
    const events = contacts.flatMap((c, i) => [
      {
        eventId: `open-${c.id}-1`,
        contactId: c.id,
        kind: 'email_open' as const,
        occurredAt: new Date(now - i * 60_000).toISOString(),
      },
      {
        eventId: `click-${c.id}-1`,
        contactId: c.id,
        kind: 'email_click' as const,
        occurredAt: new Date(now).toISOString(),
      },
    ]);
    // The same events arrive twice: NurtureHub's webhook retried. They count once.
    must(
      await app.store.ingestEngagementEvents({ tenantId, events: [...events, ...events], now: new Date() }),
    );
  }
}

async function importLead(app: App, tenantId: string): Promise<{ id: string; email: string }> {
  const email = `web.lead.${Date.now()}@example.co.uk`;
  const id = idempotencyKey('demo-lead', tenantId, email);
  const contact: CanonicalContact = {
    title: 'Ms',
    firstName: 'Priya',
    lastName: 'Raman',
    email,
    mobilePhone: '07700 900555',
    homePhone: null,
    workPhone: null,
    address: null,
    dateOfBirth: null,
    status: 'active',
    marketingConsent: 'grant',
    emailOpens: 0,
    emailClicks: 0,
    lastOpenedAt: null,
    lastClickedAt: null,
    intentScore: 40,
    nurtureSequence: null,
  };
  must(await app.store.upsertContacts({ tenantId, contacts: [{ id, contact }], now: new Date() }));
  return { id, email };
}

function runCrashChild(dataDir: string, connection: Connection): Promise<NodeJS.Signals | null> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crashChild.ts');
  // tsx by its resolved URL: `--import tsx` is looked up from the working directory, which may be anywhere.
  const tsx = import.meta.resolve('tsx');
  const child = spawn(process.execPath, ['--import', tsx, script, connection.tenantId, connection.id], {
    env: { ...process.env, CRM_SYNC_DATA_DIR: dataDir, DATABASE_URL: '' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return new Promise((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
}
