/** Gives a slot back; a second call does nothing. */
export type Release = () => void;

/**
 * At most `size` holders at once per key (a provider), granted in the order asked: the embedded worker's stand-in
 * for Inngest's per-provider step concurrency. A waiter whose `signal` aborts leaves the queue with `null`.
 */
export function keyedSlots(size: number) {
  const held = new Map<string, number>();
  const queues = new Map<string, Array<(release: Release) => void>>();

  const releaseOf = (key: string): Release => {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = queues.get(key)?.shift();
      // The slot passes straight to the next in line, so none can overtake it.
      if (next !== undefined) next(releaseOf(key));
      else held.set(key, (held.get(key) ?? 1) - 1);
    };
  };

  return {
    acquire(key: string, signal: AbortSignal): Promise<Release | null> {
      if (signal.aborted) return Promise.resolve(null);
      const taken = held.get(key) ?? 0;
      if (taken < size) {
        held.set(key, taken + 1);
        return Promise.resolve(releaseOf(key));
      }
      return new Promise((resolve) => {
        const queue = queues.get(key) ?? [];
        queues.set(key, queue);
        const grant = (release: Release) => {
          signal.removeEventListener('abort', leave);
          resolve(release);
        };
        const leave = () => {
          queue.splice(queue.indexOf(grant), 1);
          resolve(null);
        };
        queue.push(grant);
        signal.addEventListener('abort', leave, { once: true });
      });
    },
  };
}
