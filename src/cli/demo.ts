import path from 'node:path';
import type { Command } from 'commander';
import { runDemo } from '../demo/runDemo.ts';

/** `demo [--once]`: the main job (`npm start`) on the embedded database and the provider simulators. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the end-to-end demo on the embedded database and the CRM simulators')
    .option('--once', 'run the demo and exit instead of serving the admin page')
    .option('--contacts <n>', 'contacts seeded per CRM simulator', '150')
    .action(async (options: { once?: boolean; contacts: string }) => {
      const root = process.env.CRM_SYNC_DATA_DIR ?? './.crm-sync';
      const { checks, app, sims } = await runDemo({
        dataDir: path.resolve(root, 'demo'),
        contactsPerCrm: Number(options.contacts),
        out: (line) => process.stdout.write(`${line}\n`),
        env: process.env,
      });
      const failed = checks.filter((c) => !c.holds);
      await app.close();
      for (const sim of sims) await sim.close();
      if (failed.length > 0) {
        process.stderr.write(`crm-sync demo: ${failed.length} claim(s) did not hold\n`);
        process.exitCode = 1;
      }
    });
}
