/**
 * Node's writeFile opens (creating or truncating) before it writes: a moment in which a file written in place is
 * empty. `withHeldWriteFile` widens that moment while writes are held (`holdWrites` until its release is called), for
 * tests of files other processes read or take meanwhile. Use it as the factory of `vi.mock('node:fs/promises')`.
 */
let held: Promise<void> | null = null;

export function withHeldWriteFile(
  real: typeof import('node:fs/promises'),
): typeof import('node:fs/promises') {
  return {
    ...real,
    writeFile: (async (file: string, data: string, options: { flag: string; mode: number }) => {
      const handle = await real.open(file, options.flag, options.mode);
      try {
        if (held !== null) await held;
        await handle.writeFile(data);
      } finally {
        await handle.close();
      }
    }) as typeof real.writeFile,
  };
}

/** Holds every write begun from now, opened but not written, until the returned release is called. */
export function holdWrites(): () => void {
  let release = () => {};
  held = new Promise((resolve) => {
    release = () => {
      held = null;
      resolve();
    };
  });
  return release;
}
