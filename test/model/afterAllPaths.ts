import { afterAll, expect } from 'vitest';
import type { Coverage, ModelPath } from './paths.ts';

/**
 * Checks what the path runs of the current `describe` recorded once they are all done, in `afterAll`: never in an
 * `it` of its own, which runs whether the paths ran before it or not (filtered with `-t`, skipped, shuffled).
 * A transition the model did not predict fails whatever ran. What the paths as a whole must reach (`whole`) is
 * checked only when every path ran to its end: a filtered run covers less by design, and a path that failed has
 * said so itself. Returns the function each path's test calls once its run passed.
 */
export function checkAfterAllPaths(
  paths: readonly ModelPath[],
  coverage: Coverage,
  whole: () => void,
): (path: ModelPath) => void {
  const passed = new Set<ModelPath>();
  afterAll(() => {
    expect(coverage.unexpected()).toEqual([]);
    if (passed.size < paths.length) {
      console.log(`coverage not checked: ${passed.size} of ${paths.length} paths ran to their end`);
      return;
    }
    console.log(coverage.summary());
    expect(coverage.missing()).toEqual([]);
    whole();
  });
  return (path) => {
    passed.add(path);
  };
}
