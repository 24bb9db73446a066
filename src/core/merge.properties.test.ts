import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { contentHash, sameValue } from './canonicalJson.ts';
import { equivalent } from './equivalentValue.ts';
import { type LastPushed, type MergeValidatedParams, mergeContact, mergeValidated } from './merge.ts';
import {
  type CanonicalContact,
  type ContactField,
  canonicalContactSchema,
  contactFields,
  engagementFields,
  fieldOwner,
} from './schemas.ts';

const numRuns = 1000;

const blankAddress = {
  line1: null,
  line2: null,
  line3: null,
  line4: null,
  postcode: null,
  countryCode: null,
};
const sequence = (sequenceId: string, step: number) =>
  ({ sequenceId, step, state: 'active', enrolledAt: '2024-03-01T08:00:00.000Z' }) as const;

/** Few values per field, empties included, so that sides often agree with base and with each other. */
const pools: { [K in ContactField]: readonly CanonicalContact[K][] } = {
  title: [null, 'Mr', 'Dr'],
  firstName: [null, 'Ann', 'Bo', 'José', 'Jose\u0301'],
  lastName: [null, 'Smith', 'Jones'],
  // Each pool holds a value written another way (docs/sync-semantics.md): the same value, not a change.
  email: [null, 'ann@example.co.uk', 'Ann@Example.CO.UK', 'bo@example.com'],
  mobilePhone: [null, '+447700900001', '07700 900001', '07700 900001 ext 214', '+447700900002'],
  homePhone: [null, '+442079460001', '020 7946 0001'],
  workPhone: [null, '+442079460002'],
  address: [
    null,
    blankAddress,
    { ...blankAddress, line1: '1 High St', postcode: 'AB1 2CD', countryCode: 'GB' },
    { ...blankAddress, line1: '1 High St', postcode: 'ab12cd', countryCode: 'GB' },
    { ...blankAddress, line1: '2 Mill Lane', postcode: 'ZZ9 9ZZ' },
  ],
  dateOfBirth: [null, '1980-01-31', '1992-07-04'],
  status: ['active', 'archived'],
  marketingConsent: ['notAsked', 'grant', 'deny'],
  emailOpens: [0, 3, 12],
  emailClicks: [0, 1, 5],
  lastOpenedAt: [null, '2024-05-01T10:00:00.000Z', '2024-06-01T08:30:00.000Z'],
  lastClickedAt: [null, '2024-05-02T11:00:00.000Z'],
  intentScore: [null, 0, 55, 90],
  nurtureSequence: [null, sequence('spring-valuation', 0), sequence('spring-valuation', 2)],
};

const fieldValue = (field: ContactField) => fc.constantFrom(...pools[field]);

const contactFrom = (arbitraryFor: (field: ContactField) => fc.Arbitrary<unknown>) =>
  fc.record(
    Object.fromEntries(contactFields.map((f) => [f, arbitraryFor(f)])),
  ) as fc.Arbitrary<CanonicalContact>;

/** Most fields equal to the anchor (the base), the rest drawn from the pool. */
const near = (anchor: CanonicalContact) =>
  contactFrom((f) => fc.oneof({ weight: 3, arbitrary: fc.constant(anchor[f]) }, fieldValue(f)));

const fieldList = fc.option(fc.subarray(contactFields), { nil: undefined });

/** Hashes of values we might have pushed: often exactly what the CRM now holds. */
const lastPushedFor = (crm: CanonicalContact): fc.Arbitrary<LastPushed> =>
  fc
    .subarray(contactFields)
    .chain((fields) =>
      fc
        .tuple(...fields.map((f) => fc.oneof(fc.constant(crm[f]), fieldValue(f))))
        .map((values) => Object.fromEntries(fields.map((f, i) => [f, contentHash(values[i])]))),
    );

const mergeInput: fc.Arbitrary<MergeValidatedParams> = contactFrom(fieldValue).chain((anchor) =>
  fc
    .record({
      base: fc.oneof({ weight: 4, arbitrary: fc.constant(anchor) }, fc.constant(null)),
      crm: near(anchor),
      local: near(anchor),
      storedFields: fieldList,
      writableFields: fieldList,
      // Fields whose local value the tenant's other CRMs hold as the later edit.
      newerElsewhere: fieldList,
    })
    .chain(({ storedFields, writableFields, newerElsewhere, ...records }) =>
      fc.option(lastPushedFor(records.crm), { nil: undefined }).map((lastPushed) => ({
        ...records,
        ...(storedFields ? { storedFields } : {}),
        ...(writableFields ? { writableFields } : {}),
        ...(newerElsewhere ? { newerElsewhere: new Set(newerElsewhere) } : {}),
        ...(lastPushed ? { lastPushed } : {}),
      })),
    ),
);

const emptyContact = canonicalContactSchema.parse({});

describe('mergeValidated properties', () => {
  test('generated contacts are valid, and mergeContact agrees with mergeValidated on them', () => {
    fc.assert(
      fc.property(mergeInput, (input) => {
        const result = mergeContact(input);
        expect(result.ok).toBe(true);
        expect(result.ok && result.value).toEqual(mergeValidated(input));
      }),
      { numRuns },
    );
  });

  test('deterministic, and the inputs are left as they were', () => {
    fc.assert(
      fc.property(mergeInput, (input) => {
        const copy = structuredClone(input);
        expect(mergeValidated(input)).toEqual(mergeValidated(copy));
        expect(input).toEqual(copy);
      }),
      { numRuns },
    );
  });

  test('idempotent: merging again after applying both patches yields no patches', () => {
    fc.assert(
      fc.property(mergeInput, (input) => {
        const first = mergeValidated(input);
        const local = { ...input.local, ...first.localPatch };
        expect(local).toEqual(first.merged);

        // The store records nextBase and clears lastPushed once the cycle's patches are acknowledged.
        const { lastPushed: _, ...options } = input;
        const second = mergeValidated({
          ...options,
          base: first.nextBase,
          crm: { ...input.crm, ...first.crmPatch },
          local,
        });
        expect(second.crmPatch).toEqual({});
        expect(second.localPatch).toEqual({});
        expect(second.conflicts).toEqual([]);
        expect(second.merged).toEqual(first.merged);
      }),
      { numRuns },
    );
  });

  test("on every conflicting field the owner's value wins, unless a side withdrew consent or the other CRMs hold the later edit", () => {
    fc.assert(
      fc.property(mergeInput, (input) => {
        const outcome = mergeValidated(input);
        for (const conflict of outcome.conflicts) {
          const newerElsewhere = input.newerElsewhere?.has(conflict.field) ?? false;
          const withdrawn =
            conflict.field === 'marketingConsent' && [conflict.crm, conflict.local].includes('deny');
          const winner = withdrawn
            ? conflict.local === 'deny'
              ? 'nurturehub'
              : 'crm'
            : newerElsewhere
              ? 'nurturehub'
              : fieldOwner(conflict.field);
          expect(conflict).toMatchObject({
            winner,
            reason: withdrawn
              ? 'both-changed-resolved-by-withdrawal'
              : newerElsewhere
                ? 'both-changed-resolved-by-recency'
                : 'both-changed-resolved-by-authority',
            base: input.base === null ? null : input.base[conflict.field],
            crm: input.crm[conflict.field],
            local: input.local[conflict.field],
          });
          expect(sameValue(conflict.crm, conflict.local)).toBe(false);
          const winnersValue = winner === 'crm' ? input.crm[conflict.field] : input.local[conflict.field];
          expect(outcome.merged[conflict.field]).toEqual(winnersValue);
        }
      }),
      { numRuns },
    );
  });

  test('no value appears in the output that was in none of the inputs', () => {
    fc.assert(
      fc.property(mergeInput, (input) => {
        const outcome = mergeValidated(input);
        const fromInputs = (field: ContactField, value: unknown) =>
          sameValue(value, input.crm[field]) || sameValue(value, input.local[field]);
        for (const field of contactFields) {
          expect(fromInputs(field, outcome.merged[field])).toBe(true);
          expect(fromInputs(field, outcome.nextBase[field])).toBe(true);
          if (field in outcome.crmPatch) expect(outcome.crmPatch[field]).toEqual(outcome.merged[field]);
          if (field in outcome.localPatch) expect(outcome.localPatch[field]).toEqual(outcome.merged[field]);
        }
      }),
      { numRuns },
    );
  });

  test('engagement held by either side is erased only by NurtureHub emptying it, and patches respect capabilities', () => {
    fc.assert(
      fc.property(mergeInput, (input) => {
        const outcome = mergeValidated(input);
        const stored = input.storedFields ?? contactFields;
        const writable = input.writableFields ?? contactFields;
        const isEmpty = (field: ContactField, value: unknown) => sameValue(value, emptyContact[field]);
        for (const field of engagementFields) {
          const emptiedHere =
            input.base !== null &&
            isEmpty(field, input.local[field]) &&
            !equivalent(field, input.base[field] ?? null, input.local[field] ?? null);
          const held =
            !isEmpty(field, input.local[field]) ||
            (stored.includes(field) && !isEmpty(field, input.crm[field]));
          expect(isEmpty(field, outcome.merged[field])).toBe(emptiedHere || !held);
        }
        for (const field of Object.keys(outcome.crmPatch) as ContactField[]) {
          expect(stored.includes(field) && writable.includes(field)).toBe(true);
        }
        for (const field of outcome.skippedFields) expect(writable.includes(field)).toBe(false);
      }),
      { numRuns },
    );
  });

  test('a value written another way on the two sides is written to neither', () => {
    fc.assert(
      fc.property(mergeInput, (input) => {
        const outcome = mergeValidated(input);
        for (const field of contactFields) {
          if (!equivalent(field, input.crm[field], input.local[field])) continue;
          expect(field in outcome.crmPatch || field in outcome.localPatch).toBe(false);
        }
      }),
      { numRuns },
    );
  });

  test('a CRM value equal to our last push is never counted as a CRM change', () => {
    fc.assert(
      fc.property(mergeInput, (input) => {
        const outcome = mergeValidated(input);
        for (const decision of outcome.decisions) {
          if (input.lastPushed?.[decision.field] !== contentHash(input.crm[decision.field])) continue;
          expect(['unchanged', 'only-local-changed']).toContain(decision.reason);
        }
      }),
      { numRuns },
    );
  });

  test('on a first link a stored status is a value on both sides: never kept as unchanged', () => {
    fc.assert(
      fc.property(mergeInput, (input) => {
        if (input.base !== null || !(input.storedFields ?? contactFields).includes('status')) return;
        if (input.lastPushed?.status === contentHash(input.crm.status)) return; // an echo is no change
        const decision = mergeValidated(input).decisions.find((d) => d.field === 'status');
        expect(decision?.reason).toMatch(/^both-changed-/);
      }),
      { numRuns },
    );
  });

  test('arbitrary junk is a typed error or a result, never a throw', () => {
    fc.assert(
      fc.property(
        fc.anything(),
        fc.anything(),
        fc.anything(),
        fc.anything(),
        (base, crm, local, lastPushed) => {
          const result = mergeContact({ base, crm, local, lastPushed });
          if (!result.ok) expect(result.error.kind).toBe('invalid_input');
        },
      ),
      { numRuns },
    );
  });
});
