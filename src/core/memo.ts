/**
 * Memoises a pure one-argument function of a string, keeping at most `max` results (the oldest half is
 * dropped when full). For normalisation that repeats across a sync: the same phone numbers and names come
 * back in every candidate set.
 */
export function boundedMemo<T>(fn: (key: string) => T, max = 50_000): (key: string) => T {
  const cache = new Map<string, T>();
  return (key) => {
    const hit = cache.get(key);
    if (hit !== undefined || cache.has(key)) return hit as T;
    const value = fn(key);
    if (cache.size >= max) {
      let drop = Math.floor(max / 2);
      for (const oldest of cache.keys()) {
        if (drop-- <= 0) break;
        cache.delete(oldest);
      }
    }
    cache.set(key, value);
    return value;
  };
}
