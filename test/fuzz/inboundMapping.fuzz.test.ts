import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { Result } from '../../src/core/result.ts';
import { toInboundRecord as agentosMap } from '../../src/providers/agentos/mapping.ts';
import { agentosDialect } from '../../src/providers/agentos/simulator.ts';
import { fromListItem as altoMap } from '../../src/providers/alto/mapping.ts';
import { toInboundRecord as loopMap } from '../../src/providers/loop/mapping.ts';
import { loopDialect } from '../../src/providers/loop/simulator.ts';
import type { InboundRecord, InboundRecordError, ProviderName } from '../../src/providers/provider.ts';
import { toInboundRecord as reapitMap } from '../../src/providers/reapit/mapping.ts';
import { reapitDialect } from '../../src/providers/reapit/simulator.ts';
import { mapRecords } from '../../src/providers/records.ts';
import { registeredProviders } from '../../src/providers/registry.ts';
import {
  createRandom,
  generateContact,
  SEED_EPOCH_MS,
  type SeedContact,
} from '../../src/providers/simulator/generator.ts';
import { toInboundRecord as streetMap } from '../../src/providers/street/mapping.ts';
import { streetDialect } from '../../src/providers/street/simulator.ts';

/**
 * Bad input, provider by provider: pages mixing valid wire records with malformed ones (wrong types, missing
 * ids, huge strings, invalid dates, unexpected nulls) go through the same `mapRecords(raws, map)` call each
 * adapter's `listChanges` makes. Every malformed record must become exactly one `InboundRecordError` naming
 * the failing field; every valid one must map; nothing may throw. HTML in a name is not malformed: names are
 * data, stored and compared as text and never rendered, so it must come through verbatim.
 */

type Wire = Record<string, unknown>;
type Mapping = (raw: unknown) => Result<InboundRecord, InboundRecordError>;

interface FuzzTarget {
  provider: ProviderName;
  /** The per-record mapping the adapter's `listChanges` applies to a page. */
  map: Mapping;
  /** A valid wire record for a seed contact. */
  wire: (contact: SeedContact, id: string, modifiedMs: number) => Wire;
  /** Dotted wire paths: the id, the modified value (none where the provider sends none), a first name, an e-mail. */
  idPath: string;
  modifiedPath: string | null;
  namePath: string;
  emailPath: string;
  /** Wire paths that must hold a non-null value. */
  required: string[];
  /** A wire date-of-birth path, where the provider sends one. */
  dateOfBirthPath?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();
const STAMP = '2025-06-01T09:00:00.000Z';

const targets: FuzzTarget[] = [
  {
    provider: 'reapit',
    map: reapitMap,
    wire: (c, id, ms) => reapitDialect.fromSeed(c, id, ms, ms) as unknown as Wire,
    idPath: 'id',
    modifiedPath: 'modified',
    namePath: 'forename',
    emailPath: 'email',
    required: ['id', 'modified', 'marketingConsent'],
    dateOfBirthPath: 'dateOfBirth',
  },
  {
    provider: 'agentos',
    map: (raw) => agentosMap(raw, STAMP),
    // Personal fields are only read from consented applicants [G2], so the valid ones consent.
    wire: (c, id, ms) =>
      agentosDialect.fromSeed({ ...c, marketingConsent: 'grant' }, id, ms, ms) as unknown as Wire,
    idPath: 'OID',
    modifiedPath: null,
    namePath: 'Forename',
    emailPath: 'EmailAddress',
    required: ['OID', 'ThirdPartyMarketing'],
  },
  {
    provider: 'alto',
    map: altoMap,
    // A `GET /contacts/all` ContactListItem [A1], built straight from the seed.
    wire: (c, id, ms) => ({
      id,
      isActive: !c.archived,
      modifiedAt: iso(ms),
      createdAt: iso(ms),
      contactInformation: [
        {
          title: c.title,
          foreName: c.firstName,
          surname: c.lastName,
          phoneNumber: c.mobilePhone ?? c.homePhone,
          emailAddress: c.email,
        },
      ],
    }),
    idPath: 'id',
    modifiedPath: 'modifiedAt',
    namePath: 'contactInformation.0.foreName',
    emailPath: 'contactInformation.0.emailAddress',
    required: ['id', 'isActive', 'modifiedAt'],
  },
  {
    provider: 'street',
    map: (raw: unknown) => streetMap(raw, false),
    wire: (c, id, ms) => streetDialect.fromSeed(c, id, ms, ms) as unknown as Wire,
    idPath: 'id',
    modifiedPath: 'attributes.updated_at',
    namePath: 'attributes.first_name',
    emailPath: 'attributes.email_addresses.0.value',
    required: ['id', 'type', 'attributes', 'attributes.updated_at'],
  },
  {
    provider: 'loop',
    map: loopMap,
    wire: (c, id, ms) => loopDialect.fromSeed(c, id, ms, ms) as unknown as Wire,
    idPath: 'id',
    modifiedPath: 'updatedAt',
    namePath: 'firstName',
    emailPath: 'emails.0',
    required: ['id', 'updatedAt', 'createdAt'],
  },
];

/** `value` at a dotted path of a deep copy of `record`; `undefined` deletes the key. */
function withPath(record: Wire, path: string, value: unknown): Wire {
  const copy = structuredClone(record);
  const keys = path.split('.');
  let node: Record<string, unknown> = copy;
  for (const key of keys.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object') node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = keys.at(-1) as string;
  if (value === undefined) delete node[last];
  else node[last] = value;
  return copy;
}

/** One record of a page and what mapping it must produce. */
type Sample =
  | { kind: 'valid'; raw: unknown; firstName?: string | null }
  | { kind: 'malformed'; raw: unknown; label: string; field: string; externalId: string | null };

const wrongType = fc.constantFrom<unknown>(42, true, { nested: 'object' }, ['array'], 3.5);
const badDateTime = fc.constantFrom<unknown>(
  '2025-13-40T25:61:00Z',
  'yesterday',
  '',
  '2025-01-01',
  '01/02/2025 10:00',
  'NaN',
  0,
  false,
);
const badEmail = fc.constantFrom(
  'not-an-email',
  'jane.doe(at)example.com',
  '@example.com',
  'jane@',
  '<b>x</b>',
);
const badDateOfBirth = fc.constantFrom('31/12/1990', 'unknown', '19900101', 'born 1990');
const html = fc.constantFrom(
  '<script>alert(1)</script>',
  '<img src=x onerror=alert(1)>',
  '<b>Bob</b>',
  'Tom &amp; Jerry',
  '"><svg onload=alert(1)>',
);
/** Non-blank text longer than the canonical 200-character limit on names. */
const huge = fc
  .tuple(fc.integer({ min: 201, max: 100_000 }), fc.constantFrom('x', 'é', '<p>', 'Ab '))
  .map(([length, unit]) => `Z${unit.repeat(Math.ceil(length / unit.length))}`);

function samples(t: FuzzTarget): fc.Arbitrary<Sample> {
  const base = fc
    .tuple(fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 9_999_999 }))
    .map(([seed, n]) => {
      const id = `FZ${String(n).padStart(7, '0')}`;
      const contact = generateContact(createRandom(seed));
      return { id, wire: t.wire(contact, id, SEED_EPOCH_MS + n * 1000) };
    });
  const bad = (label: string, field: string, raw: Wire | unknown, externalId: string | null): Sample => ({
    kind: 'malformed',
    raw,
    label,
    field,
    externalId,
  });

  const variants: fc.Arbitrary<Sample>[] = [
    base.map(({ wire }) => ({ kind: 'valid', raw: wire })),
    fc
      .tuple(base, html)
      .map(([{ wire }, name]) => ({ kind: 'valid', raw: withPath(wire, t.namePath, name), firstName: name })),
    fc.tuple(base, fc.string({ unit: 'binary', maxLength: 60 })).map(([{ wire }, name]) => ({
      kind: 'valid',
      raw: withPath(wire, t.namePath, name),
      firstName: name.trim() === '' ? null : name.trim(),
    })),
    base.map(({ wire }) => ({
      kind: 'valid',
      raw: withPath(wire, t.namePath, null),
      firstName: null,
    })),
    base.map(({ wire }) => ({ kind: 'valid', raw: { ...wire, unexpectedVendorField: { a: [1, null] } } })),
    // Missing or unusable ids: no id can be reported.
    base.map(({ wire }) => bad('missing id', t.idPath, withPath(wire, t.idPath, undefined), null)),
    fc
      .tuple(base, fc.oneof(wrongType, fc.constant(''), fc.constant(null)))
      .map(([{ wire }, v]) => bad('bad id', t.idPath, withPath(wire, t.idPath, v), null)),
    // Wrong types and unexpected nulls elsewhere: the id is still reported.
    fc
      .tuple(base, wrongType)
      .map(([{ wire, id }, v]) => bad('wrong-typed name', t.namePath, withPath(wire, t.namePath, v), id)),
    fc
      .tuple(
        base,
        fc.constantFrom(...t.required.filter((p) => p !== t.idPath)),
        fc.constantFrom(null, undefined),
      )
      .map(([{ wire, id }, path, v]) =>
        bad(`${v === null ? 'null' : 'missing'} ${path}`, path, withPath(wire, path, v), id),
      ),
    fc
      .tuple(base, huge)
      .map(([{ wire, id }, v]) => bad('huge name', 'firstName', withPath(wire, t.namePath, v), id)),
    fc
      .tuple(base, badEmail)
      .map(([{ wire, id }, v]) => bad('invalid e-mail', 'email', withPath(wire, t.emailPath, v), id)),
    // Not a record at all.
    fc.constantFrom<unknown>(null, 'contact', 42, [], true).map((raw) => bad('not an object', '', raw, null)),
  ];
  const modifiedPath = t.modifiedPath;
  if (modifiedPath !== null) {
    variants.push(
      fc
        .tuple(base, badDateTime)
        .map(([{ wire, id }, v]) =>
          bad('invalid modified', modifiedPath, withPath(wire, modifiedPath, v), id),
        ),
    );
  }
  const dobPath = t.dateOfBirthPath;
  if (dobPath !== undefined) {
    variants.push(
      fc
        .tuple(base, badDateOfBirth)
        .map(([{ wire, id }, v]) =>
          bad('invalid date of birth', 'dateOfBirth', withPath(wire, dobPath, v), id),
        ),
    );
  }
  return fc.oneof(...variants);
}

let inputsTried = 0;
const triedByProvider: Record<string, number> = {};

afterAll(() => {
  console.info(`inbound mapping fuzz: ${inputsTried} records tried`, triedByProvider);
});

describe('fuzzing the inbound mapping of every provider', () => {
  it('covers every registered provider', () => {
    expect(targets.map((t) => t.provider).sort()).toEqual(
      registeredProviders()
        .map((e) => e.name)
        .sort(),
    );
  });

  it.each(targets)(
    '$provider: each malformed record is one clear error, the rest map, nothing throws',
    (t) => {
      fc.assert(
        fc.property(fc.array(samples(t), { minLength: 1, maxLength: 25 }), (page) => {
          inputsTried += page.length;
          triedByProvider[t.provider] = (triedByProvider[t.provider] ?? 0) + page.length;
          const { records, errors } = mapRecords(
            page.map((s) => s.raw),
            t.map,
          );
          const malformed = page.filter((s) => s.kind === 'malformed');
          const valid = page.filter((s) => s.kind === 'valid');
          expect(errors).toHaveLength(malformed.length);
          expect(records).toHaveLength(valid.length);
          malformed.forEach((sample, i) => {
            const error = errors[i] as InboundRecordError;
            expect(error.raw, sample.label).toBe(sample.raw);
            expect(error.externalId, sample.label).toBe(sample.externalId);
            expect(error.fields, sample.label).toContain(sample.field);
            // A clear message: `<field>: <what is wrong>` for every failing field.
            expect(error.message, sample.label).toContain(`${sample.field || '(record)'}: `);
            expect(error.message.length, sample.label).toBeLessThan(2_000);
          });
          valid.forEach((sample, i) => {
            const record = records[i] as InboundRecord;
            if (sample.firstName !== undefined) expect(record.contact.firstName).toBe(sample.firstName);
          });
        }),
        { numRuns: 300, seed: 20250601 },
      );
    },
  );
});
