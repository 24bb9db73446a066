import type { StoreHandle } from '../../src/persistence/store.ts';

/**
 * The store, with what `between` is given run once right after the next `getContacts` that asks for `id`: a
 * NurtureHub write (an engagement webhook, an agent's edit) fitted deterministically between a reader's reading of
 * a contact (a reconcile batch, an API edit) and its writing of it. `run` may arm the next one with `between`.
 */
export function afterNextRead(store: StoreHandle) {
  let pending: { id: string; run: () => Promise<void> } | null = null;
  const wrapped: StoreHandle = new Proxy(store, {
    get(target, key) {
      if (key === 'getContacts') {
        return (async (request) => {
          const read = await target.getContacts(request);
          const armed = pending;
          if (armed !== null && request.ids.includes(armed.id)) {
            pending = null;
            await armed.run();
          }
          return read;
        }) satisfies StoreHandle['getContacts'];
      }
      const value = Reflect.get(target, key);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return {
    store: wrapped,
    between: (id: string, run: () => Promise<void>) => {
      pending = { id, run };
    },
  };
}
