import type { StoreHandle } from '../../src/persistence/store.ts';

type Method<K extends keyof StoreHandle> = StoreHandle[K] extends (...args: infer A) => infer R
  ? (real: StoreHandle, ...args: A) => R
  : never;

/** The store, with the methods given answered by the test (each given the real store to call through to). */
export function withStoreMethods(
  store: StoreHandle,
  overrides: { [K in keyof StoreHandle]?: Method<K> },
): StoreHandle {
  return new Proxy(store, {
    get(target, key, receiver) {
      const override = overrides[key as keyof StoreHandle] as ((...args: unknown[]) => unknown) | undefined;
      if (override !== undefined) return (...args: unknown[]) => override(target, ...args);
      const value = Reflect.get(target, key, receiver);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
