import { describe, expect, it } from 'vitest';
import { keyedSlots, type Release } from './providerSlots.ts';

const never = new AbortController().signal;

describe('keyedSlots', () => {
  it('grants at most `size` per key, in the order asked, and keys apart', async () => {
    const slots = keyedSlots(2);
    const first = (await slots.acquire('reapit', never)) as Release;
    const second = (await slots.acquire('reapit', never)) as Release;
    expect(await slots.acquire('loop', never)).not.toBeNull();
    const granted: string[] = [];
    const third = slots.acquire('reapit', never).then((release) => {
      granted.push('third');
      return release;
    });
    const fourth = slots.acquire('reapit', never).then((release) => {
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

  it('a waiter whose signal aborts leaves the queue with null; the slot goes to the next', async () => {
    const slots = keyedSlots(1);
    const held = (await slots.acquire('alto', never)) as Release;
    const stop = new AbortController();
    const leaving = slots.acquire('alto', stop.signal);
    const next = slots.acquire('alto', never);
    stop.abort();
    expect(await leaving).toBeNull();
    held();
    expect(await next).not.toBeNull();
    expect(await slots.acquire('alto', stop.signal)).toBeNull();
  });
});
