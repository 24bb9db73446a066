/** How the real driver and its phase runs hand over work: arrangements one way, persisted writes in order. */
import type { PhaseActorId } from '../../src/machines/phases.ts';

/** Hands each phase run what the driver arranged; either side may come first. */
export class Gate<T> {
  private readonly arranged = new Map<PhaseActorId, T>();
  private readonly waiting = new Map<PhaseActorId, (value: T) => void>();

  arrange(actorId: PhaseActorId, value: T): void {
    const run = this.waiting.get(actorId);
    this.waiting.delete(actorId);
    if (run) run(value);
    else this.arranged.set(actorId, value);
  }

  next(actorId: PhaseActorId): Promise<T> {
    const value = this.arranged.get(actorId);
    this.arranged.delete(actorId);
    if (value !== undefined) return Promise.resolve(value);
    return new Promise((resolve) => this.waiting.set(actorId, resolve));
  }

  clear(): void {
    this.arranged.clear();
    this.waiting.clear();
  }
}

/** Serialises the snapshot and audit writes, in transition order, like the runner's queue. */
export class PersistQueue {
  private tail: Promise<void> = Promise.resolve();
  private failure: unknown = null;

  push(write: () => Promise<void>): void {
    this.tail = this.tail.then(async () => {
      if (this.failure !== null) return;
      try {
        await write();
      } catch (error) {
        this.failure = error;
      }
    });
  }

  async flush(): Promise<void> {
    await this.tail;
    if (this.failure !== null) throw this.failure;
  }
}
