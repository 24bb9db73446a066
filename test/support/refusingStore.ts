import { err } from '../../src/core/result.ts';
import type { StoreData, StoreHandle } from '../../src/persistence/store.ts';

/**
 * The store, each call of `method` made inside a transaction answered as a database gone away when `refuses()`
 * says so (asked once per call).
 */
export function refusingInTransactions(
  store: StoreHandle,
  method: keyof StoreData,
  refuses: () => boolean,
): StoreHandle {
  const inTransaction = (tx: StoreData): StoreData =>
    new Proxy(tx, {
      get(target, key) {
        const value = Reflect.get(target, key);
        if (key === method)
          return (...args: unknown[]) =>
            refuses()
              ? Promise.resolve(err({ kind: 'unavailable', message: 'connection terminated by the test' }))
              : value.apply(target, args);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  return new Proxy(store, {
    get(target, key) {
      if (key === 'transaction')
        return ((run) =>
          target.transaction((tx) => run(inTransaction(tx)))) satisfies StoreHandle['transaction'];
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
