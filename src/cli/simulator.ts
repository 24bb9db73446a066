import type { Command } from 'commander';
import { providerNameSchema } from '../providers/provider.ts';
import { getProvider, registeredProviders } from '../providers/registry.ts';
import { listenRefused, parseIntegerArg, UsageError } from './usageError.ts';

interface SimulatorFlags {
  provider: string;
  port: string;
  contacts?: string;
  seed?: string;
  latencyMs?: string;
  sameModified?: string;
  malformed?: string;
}

/**
 * `simulator --provider NAME --port N [--contacts N] [--seed N] [--latency-ms N]`: serves one provider's
 * simulator on 127.0.0.1 and prints one JSON line `{provider, baseUrl, credentials}` once it listens.
 */
export function registerSimulator(program: Command): void {
  program
    .command('simulator')
    .description(
      'serve a CRM simulator on 127.0.0.1; prints {"provider","baseUrl","credentials"} once listening',
    )
    .requiredOption(
      '--provider <name>',
      `one of: ${registeredProviders()
        .map((e) => e.name)
        .join(', ')}`,
    )
    .requiredOption('--port <n>', 'TCP port (0 = any free port)')
    .option('--contacts <n>', 'seeded contacts (default 200)')
    .option('--seed <n>', 'seed of the generated data (default 1)')
    .option('--latency-ms <n>', 'added to every API response (default 0)')
    .option('--same-modified <n>', 'seeded records sharing one modified timestamp (default 0)')
    .option('--malformed <n>', 'seeded records that break the provider schema (default 0)')
    .action(async (flags: SimulatorFlags) => {
      const name = providerNameSchema.safeParse(flags.provider);
      const entry = name.success ? getProvider(name.data) : undefined;
      if (!entry) {
        const known = registeredProviders()
          .map((e) => e.name)
          .join(', ');
        throw new UsageError(`unknown provider "${flags.provider}" (simulators: ${known})`);
      }
      const port = parseIntegerArg('--port', flags.port, 0, 65_535);
      const optional = (flag: string, value: string | undefined, max = 1_000_000) =>
        value === undefined ? {} : { [flag]: parseIntegerArg(`--${kebab(flag)}`, value, 0, max) };
      const options = {
        port,
        ...optional('contacts', flags.contacts),
        ...optional('seed', flags.seed, 2 ** 31 - 1),
        ...optional('latencyMs', flags.latencyMs, 60_000),
        ...optional('sameModified', flags.sameModified),
        ...optional('malformed', flags.malformed),
      };
      let running: Awaited<ReturnType<typeof entry.startSimulator>>;
      try {
        running = await entry.startSimulator(options);
      } catch (error) {
        throw listenRefused(error, { port }) ?? error;
      }
      process.stdout.write(
        `${JSON.stringify({ provider: entry.name, baseUrl: running.baseUrl, credentials: running.credentials })}\n`,
      );
      const stop = () => {
        running.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
