/** Gives a slot back; a second call does nothing. */
export type Release = () => void;

/**
 * At most `size` holders at once per key (a provider), granted in the order asked: the embedded worker's stand-in
 * for Inngest's per-provider step concurrency. Once `stopping` aborts, every waiter leaves its queue with `null`
 * and no slot is granted again. One listener for them all: a tick may queue thousands, and an AbortSignal's
 * listeners are a list that each add and remove walks.
 */
export function keyedSlots(size: number, stopping: AbortSignal) {
  const held = new Map<string, number>();
  const queues = new Map<string, Array<(release: Release | null) => void>>();
  stopping.addEventListener(
    'abort',
    () => {
      for (const queue of queues.values()) for (const leave of queue.splice(0)) leave(null);
    },
    { once: true },
  );

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
    acquire(key: string): Promise<Release | null> {
      if (stopping.aborted) return Promise.resolve(null);
      const taken = held.get(key) ?? 0;
      if (taken < size) {
        held.set(key, taken + 1);
        return Promise.resolve(releaseOf(key));
      }
      return new Promise((resolve) => {
        const queue = queues.get(key) ?? [];
        queues.set(key, queue);
        queue.push(resolve);
      });
    },
  };
}
