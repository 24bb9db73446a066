import { mergeContact, mergeValidated } from '../src/core/merge.ts';
import { type CanonicalContact, canonicalContactSchema } from '../src/core/schemas.ts';
import { benchArgs } from './benchArgs.ts';

// It takes no flags: one given is a mistake, not to be run past.
benchArgs('bench:merge', {});

/**
 * Throughput of the three-way merge over 10,000 links, each with a few one-sided edits and some
 * conflicts. Prints one JSON line per entry point: the validated fast path and the validating one.
 */
const links = 10_000;
const rounds = 5;

// A fixed LCG so every run merges the same workload.
let seed = 42;
const next = () => {
  seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
  return seed / 2 ** 31;
};

function workload(): { base: CanonicalContact; crm: CanonicalContact; local: CanonicalContact }[] {
  return Array.from({ length: links }, (_, i) => {
    const base = canonicalContactSchema.parse({
      firstName: 'Ann',
      lastName: `Smith${i}`,
      email: `ann${i}@example.co.uk`,
      mobilePhone: '+447700900001',
      address: { line1: `${i} High St`, postcode: 'AB1 2CD', countryCode: 'GB' },
      emailOpens: i % 13,
      intentScore: i % 100,
    });
    const crm = next() < 0.3 ? { ...base, email: `new${i}@example.com` } : base;
    const local = next() < 0.5 ? { ...base, emailOpens: base.emailOpens + 1 } : base;
    return { base, crm, local: next() < 0.05 ? { ...local, email: `other${i}@example.org` } : local };
  });
}

type Input = ReturnType<typeof workload>[number];

/** Each entry point merges one link and returns its number of conflicts. */
const entries: [string, (input: Input) => number][] = [
  ['mergeValidated', (input) => mergeValidated(input).conflicts.length],
  [
    'mergeContact',
    (input) => {
      const result = mergeContact(input);
      if (!result.ok) throw new Error(`bench input invalid: ${JSON.stringify(result.error)}`);
      return result.value.conflicts.length;
    },
  ],
];

const inputs = workload();
for (const [entry, merge] of entries) {
  for (const input of inputs.slice(0, 1000)) merge(input);
  const started = performance.now();
  let conflicts = 0;
  for (let round = 0; round < rounds; round++) {
    for (const input of inputs) conflicts += merge(input);
  }
  const ms = performance.now() - started;
  const merges = links * rounds;
  console.log(
    JSON.stringify({
      bench: 'merge',
      entry,
      merges,
      conflicts,
      ms: Math.round(ms),
      mergesPerSecond: Math.round(merges / (ms / 1000)),
      microsPerMerge: Number(((ms * 1000) / merges).toFixed(1)),
    }),
  );
}
