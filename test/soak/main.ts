/**
 * `npm run soak -- [--rounds N | --cycles N] [--tenants N] [--seed N] [--crash-rate P]`: every registered provider ×
 * N tenants, N cycles per connection (the initial sync included), against simulators injecting transient
 * failures, timeouts, dropped connections and 429 bursts, in a child process killed with SIGKILL at random;
 * then compared with a fault-free replay of the same edits. A JSON line per round on stderr, the summary on
 * stdout; exit 1 when any check fails. See docs/BENCHMARKS.md, "Soak".
 */
import { benchArgs } from '../../bench/benchArgs.ts';
import { DEFAULT_FAULTS, runSoak } from './runSoak.ts';

const values = benchArgs('soak', {
  rounds: { type: 'string', default: '200' },
  /** The name for `--rounds`. */
  cycles: { type: 'string' },
  tenants: { type: 'string', default: '3' },
  seed: { type: 'string', default: '1' },
  'crash-rate': { type: 'string', default: '0.15' },
  'error-rate': { type: 'string', default: String(DEFAULT_FAULTS.errorRate) },
});

const positive = (name: string, value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) {
    process.stderr.write(`--${name}: expected a non-negative number, got ${value}\n`);
    process.exit(2);
  }
  return n;
};

try {
  const summary = await runSoak({
    rounds: positive('rounds', values.cycles ?? values.rounds),
    tenants: positive('tenants', values.tenants),
    seed: positive('seed', values.seed),
    crashRate: positive('crash-rate', values['crash-rate']),
    faults: { ...DEFAULT_FAULTS, errorRate: positive('error-rate', values['error-rate']) },
    progress: (line) => process.stderr.write(`${JSON.stringify(line)}\n`),
  });
  process.stdout.write(`${JSON.stringify(summary)}\n`);
  process.exit(summary.passed ? 0 : 1);
} catch (error) {
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  process.stdout.write(`${JSON.stringify({ soak: 'result', passed: false, error: message })}\n`);
  process.exit(1);
}
