import type { PhaseActorId } from '../../src/machines/phases.ts';

/**
 * Hands each phase actor run what a driver arranged for it. A run may start before or after the arrangement
 * (entering a state starts its actor at once), so either side may wait for the other.
 */
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
