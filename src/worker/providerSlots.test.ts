import { describe, expect, it } from 'vitest';
import { keyedSlots, type Release } from './providerSlots.ts';

const never = new AbortController().signal;

describe('keyedSlots', () => {
  it('grants at most `size` per key, in the order asked, and keys apart', async () => {
    const slots = keyedSlots(2, never);
    const first = (await slots.acquire('reapit')) as Release;
    const second = (await slots.acquire('reapit')) as Release;
    expect(await slots.acquire('loop')).not.toBeNull();
    const granted: string[] = [];
    const third = slots.acquire('reapit').then((release) => {
      granted.push('third');
      return release;
    });
    const fourth = slots.acquire('reapit').then((release) => {
      granted.push('fourth');
      return release;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(granted).toEqual([]);
    first();
    first(); // a second release of the same grant gives nothing back
    await new Promise((resolve) => setImmediate(resolve));
    expect(granted).toEqual(['third']);
    second();
    expect(await fourth).not.toBeNull();
    expect(granted).toEqual(['third', 'fourth']);
    (await third)?.();
  });

  it('once stopping, every waiter leaves with null and nothing more is granted', async () => {
    const stop = new AbortController();
    const slots = keyedSlots(1, stop.signal);
    const held = (await slots.acquire('alto')) as Release;
    const waiting = [slots.acquire('alto'), slots.acquire('alto')];
    stop.abort();
    expect(await Promise.all(waiting)).toEqual([null, null]);
    held();
    expect(await slots.acquire('alto')).toBeNull();
    expect(await slots.acquire('street')).toBeNull();
  });
});
