import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CycleLedger, ledgerKey } from './cycleLedger.ts';
import type { ChildCommand, ChildMessage } from './soakChild.ts';
import type { LocalInputs } from './soakPlan.ts';
import type { TenantSetup } from './soakWorld.ts';

const CHILD_SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'soakChild.ts');

/** What the faulted world's processes reported, across every crash. */
export interface FaultedCounts {
  crashesSurvived: number;
  /** Connections a restarted child found mid-cycle (not idle) and finished. */
  resumedMidCycle: number;
  /** Runs that ended in backoff or error, after which the cycle was resumed. */
  retries: number;
  retriesFromError: number;
  skewMs: number;
}

type Waiter = { type: ChildMessage['type']; resolve: () => void; reject: (error: Error) => void };

/**
 * The faulted world as a child process (soakChild.ts) on the soak's data directory. `runRound` can kill
 * it with SIGKILL after the round's inputs are committed; it then starts a new child, which resumes the
 * interrupted cycles from the persisted snapshots, until the round is done.
 */
export class FaultedWorld {
  readonly counts: FaultedCounts = {
    crashesSurvived: 0,
    resumedMidCycle: 0,
    retries: 0,
    retriesFromError: 0,
    skewMs: 0,
  };
  /** Every cycle id the children's runners were handed, and how each child first found each machine. */
  readonly ledger = new CycleLedger();
  /** The current child's number (from 1); a round's cycle ids are recorded under it. */
  private generation = 0;
  private round = 0;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();
  private waiters: Waiter[] = [];
  private failure: string | null = null;

  constructor(
    private readonly dataDir: string,
    private readonly setup: TenantSetup[],
  ) {}

  /**
   * Runs one round; with `killAfterMs`, kills the child that long after its inputs are committed, unless
   * the round finished first. Returns whether a kill landed mid-round.
   */
  async runRound(
    round: number,
    tenants: Array<{ name: string; local: LocalInputs }>,
    killAfterMs: number | null,
  ): Promise<boolean> {
    let pending: Array<{ name: string; local: LocalInputs | null }> = tenants;
    let kill = killAfterMs;
    let crashed = false;
    this.round = round;
    for (;;) {
      await this.ensureChild();
      const inputsApplied = this.next('inputs');
      const handed: Record<string, string[]> = {};
      for (const key of this.ledger.handed.keys()) handed[key] = this.ledger.roundIds(key, round);
      this.send({ type: 'round', round, tenants: pending, handed });
      await inputsApplied;
      pending = tenants.map((t) => ({ name: t.name, local: null }));
      const done = this.next('done');
      const child = this.child;
      const timer =
        kill === null
          ? null
          : setTimeout(() => {
              child?.kill('SIGKILL');
            }, kill);
      try {
        await done;
        if (timer !== null) clearTimeout(timer);
        return crashed;
      } catch (error) {
        if (timer !== null) clearTimeout(timer);
        if (child?.signalCode !== 'SIGKILL') throw error;
        await this.exited;
        this.ledger.killed.add(this.generation);
        this.counts.crashesSurvived += 1;
        crashed = true;
        kill = null;
      }
    }
  }

  /** Asks the child to close its store and exit; kills it if it has not within 10 s. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    this.send({ type: 'exit' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }

  private async ensureChild(): Promise<void> {
    if (this.child !== null) return;
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD_SCRIPT, String(this.counts.skewMs)], {
      env: { ...process.env, CRM_SYNC_DATA_DIR: this.dataDir, DATABASE_URL: '' },
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.child = child;
    this.generation += 1;
    // 'close', not 'exit': every line the child wrote before it died (its cycle ids) is read first.
    this.exited = new Promise((resolve) =>
      child.on('close', (code, signal) => {
        this.child = null;
        const reason = this.failure ?? `the soak child exited (code ${code}, signal ${signal})`;
        for (const w of this.waiters.splice(0)) w.reject(new Error(reason));
        resolve();
      }),
    );
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => this.hear(line));
    const ready = this.next('ready');
    this.send({ type: 'setup', tenants: this.setup });
    await ready;
  }

  private hear(line: string): void {
    let message: ChildMessage;
    try {
      message = JSON.parse(line) as ChildMessage;
    } catch {
      return; // a line cut short by SIGKILL
    }
    switch (message.type) {
      case 'retry':
        this.counts.retries += 1;
        if (message.state === 'error') this.counts.retriesFromError += 1;
        return;
      case 'resume':
        this.counts.resumedMidCycle += 1;
        return;
      case 'skew':
        this.counts.skewMs = Math.max(this.counts.skewMs, message.ms);
        return;
      case 'cycle':
        this.ledger.hand(ledgerKey(message.tenant, message.provider), {
          round: this.round,
          cycleId: message.cycleId,
          generation: this.generation,
        });
        return;
      case 'seen': {
        const { type: _type, tenant, provider, ...seen } = message;
        this.ledger.see(ledgerKey(tenant, provider), {
          ...seen,
          round: this.round,
          generation: this.generation,
        });
        return;
      }
      case 'failed':
        this.failure = `the soak child failed: ${message.message}`;
        return;
    }
    const index = this.waiters.findIndex((w) => w.type === message.type);
    if (index >= 0) this.waiters.splice(index, 1)[0]?.resolve();
  }

  private next(type: ChildMessage['type']): Promise<void> {
    return new Promise((resolve, reject) => this.waiters.push({ type, resolve, reject }));
  }

  private send(command: ChildCommand): void {
    this.child?.stdin?.write(`${JSON.stringify(command)}\n`);
  }
}
