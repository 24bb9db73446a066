import { z } from 'zod';
import { normalisePhone } from './normalise/phone.ts';
import { isStorableText, UNSTORABLE_TEXT } from './storableText.ts';

/**
 * The canonical contact: the one shape every provider maps to and from, and the shape the store holds.
 * Every field is present; `null` means "no value" so that a CRM clearing a field is visible as a change.
 */

/** Storable: a CRM record whose name holds a NUL is quarantined, not a page that fails on every retry. */
export const storable = <T extends z.ZodString>(schema: T) => schema.refine(isStorableText, UNSTORABLE_TEXT);
const text = (max: number) => storable(z.string().trim().min(1).max(max)).nullable().default(null);
const FIRST_INSTANT_MS = Date.parse('0001-01-01T00:00:00.000Z');
const LAST_INSTANT_MS = Date.parse('9999-12-31T23:59:59.999Z');
/**
 * An ISO instant with a zone, kept as `Date.toISOString` writes it: UTC, to the millisecond. One instant then has
 * one spelling, so an edit giving a held instant in another zone, or a repeat of an event a microsecond apart,
 * changes nothing, in memory and in the store alike. Its UTC year is 0001 to 9999: ISO's year 0000 is 1 BC, which
 * PostgreSQL's text drops the era of, and year 10000 is out of its text's range.
 */
export const isoInstantSchema = z.iso
  .datetime({ offset: true })
  .refine((text) => {
    const ms = Date.parse(text);
    return ms >= FIRST_INSTANT_MS && ms <= LAST_INSTANT_MS;
  }, 'expected a year from 0001 to 9999 in UTC')
  .transform((text) => new Date(text).toISOString());
const isoDateTime = isoInstantSchema.nullable().default(null);

/**
 * A uuid in one spelling, lower case: `z.uuid()` takes `0544D74D-…` as well, which PostgreSQL's uuid type reads as
 * the same id as `0544d74d-…`. Used as text (a repeat within one call compared, credentials sealed under their
 * connection's ids, a lease's lock key) the two would differ.
 */
export const uuidSchema = z.uuid().toLowerCase();

export const contactStatusSchema = z.enum(['active', 'archived']);
export type ContactStatus = z.infer<typeof contactStatusSchema>;

export const marketingConsentSchema = z.enum(['grant', 'deny', 'notAsked']);
export type MarketingConsent = z.infer<typeof marketingConsentSchema>;

export const addressSchema = z.strictObject({
  line1: text(200),
  line2: text(200),
  line3: text(200),
  line4: text(200),
  postcode: text(16),
  /** ISO 3166-1 alpha-2, e.g. `GB`. */
  countryCode: z
    .string()
    .regex(/^[A-Z]{2}$/, 'expected an ISO 3166-1 alpha-2 code such as GB')
    .nullable()
    .default(null),
});
export type Address = z.infer<typeof addressSchema>;

export const nurtureSequenceSchema = z.strictObject({
  sequenceId: storable(z.string().min(1).max(200)),
  step: z.number().int().min(0),
  state: z.enum(['active', 'paused', 'completed', 'exited']),
  enrolledAt: isoInstantSchema,
});
export type NurtureSequence = z.infer<typeof nurtureSequenceSchema>;

/** Which side decides a field when both sides changed it to different values. */
export type FieldOwner = 'crm' | 'nurturehub';

/**
 * The authority table: field → owner and schema. Adding a field is one line here.
 * CRM owns the contact record; NurtureHub owns engagement.
 */
export const contactFieldTable = {
  title: { owner: 'crm', schema: text(40) },
  firstName: { owner: 'crm', schema: text(200) },
  lastName: { owner: 'crm', schema: text(200) },
  email: { owner: 'crm', schema: z.email().max(320).nullable().default(null) },
  mobilePhone: { owner: 'crm', schema: text(40) },
  homePhone: { owner: 'crm', schema: text(40) },
  workPhone: { owner: 'crm', schema: text(40) },
  address: { owner: 'crm', schema: addressSchema.nullable().default(null) },
  dateOfBirth: { owner: 'crm', schema: z.iso.date().nullable().default(null) },
  status: { owner: 'crm', schema: contactStatusSchema.default('active') },
  marketingConsent: { owner: 'crm', schema: marketingConsentSchema.default('notAsked') },
  emailOpens: { owner: 'nurturehub', schema: z.number().int().min(0).default(0) },
  emailClicks: { owner: 'nurturehub', schema: z.number().int().min(0).default(0) },
  lastOpenedAt: { owner: 'nurturehub', schema: isoDateTime },
  lastClickedAt: { owner: 'nurturehub', schema: isoDateTime },
  intentScore: { owner: 'nurturehub', schema: z.number().int().min(0).max(100).nullable().default(null) },
  nurtureSequence: { owner: 'nurturehub', schema: nurtureSequenceSchema.nullable().default(null) },
} as const satisfies Record<string, { owner: FieldOwner; schema: z.ZodType }>;

type FieldTable = typeof contactFieldTable;
export type ContactField = keyof FieldTable;

export const contactFields = Object.keys(contactFieldTable) as ContactField[];
export const fieldOwner = (field: ContactField): FieldOwner => contactFieldTable[field].owner;
export const crmOwnedFields = contactFields.filter((f) => fieldOwner(f) === 'crm');
export const engagementFields = contactFields.filter((f) => fieldOwner(f) === 'nurturehub');

const shape = Object.fromEntries(contactFields.map((f) => [f, contactFieldTable[f].schema])) as {
  [K in ContactField]: FieldTable[K]['schema'];
};

/** A full canonical contact (input may omit fields; output has every field, `null` when empty). */
export const canonicalContactSchema = z.strictObject(shape);
export type CanonicalContact = z.output<typeof canonicalContactSchema>;
export type CanonicalContactInput = z.input<typeof canonicalContactSchema>;

/**
 * A contact that names or reaches someone: a name, an e-mail address, or a phone number that reads as one (`abc`
 * does not). A blank one would be a blank record in the tenant's CRMs, which refuse it on every cycle (Reapit:
 * "surname cannot be cleared"). Checked where NurtureHub makes or edits a contact: `contact import`, the admin
 * API's contact edit.
 */
export const identifiableContactSchema = canonicalContactSchema.refine(
  (c) =>
    [c.firstName, c.lastName, c.email].some((v) => v !== null) ||
    [c.mobilePhone, c.homePhone, c.workPhone].some((phone) => normalisePhone(phone) !== null),
  'expected at least a name, an e-mail address or a phone number',
);

/** A subset of fields with new values: what a patch to either side carries. */
export type ContactPatch = Partial<CanonicalContact>;

/** Each field of an object schema optional, its default removed: a default would turn "absent" into "empty". */
function presentOnly(shape: Record<string, z.ZodType>): Record<string, z.ZodType> {
  return Object.fromEntries(
    Object.entries(shape).map(([field, schema]) => {
      const present = schema instanceof z.ZodDefault ? (schema.removeDefault() as z.ZodType) : schema;
      return [field, present.optional()];
    }),
  );
}

/** A patch read back from JSON: only the fields present are kept. */
export const contactPatchSchema = z.strictObject(presentOnly(shape)) as unknown as z.ZodType<ContactPatch>;

/**
 * A local edit of a contact, as the admin API takes it: a JSON Merge Patch (RFC 7396). The fields present
 * replace the stored ones; an object field (the address, the nurture sequence) names only the members it
 * changes (`{"address": {"postcode": …}}` keeps the other lines, `{"nurtureSequence": {"step": 3}}` the
 * sequence, its state and enrolment), and `null` clears the field.
 */
export type ContactEdit = Omit<ContactPatch, 'address' | 'nurtureSequence'> & {
  address?: Partial<Address> | null;
  nurtureSequence?: Partial<NurtureSequence> | null;
};
export const contactEditSchema = z.strictObject({
  ...presentOnly(shape),
  address: z.strictObject(presentOnly(addressSchema.shape)).nullable().optional(),
  nurtureSequence: z.strictObject(presentOnly(nurtureSequenceSchema.shape)).nullable().optional(),
}) as unknown as z.ZodType<ContactEdit>;

/**
 * `contact` with `edit` applied: the edit's fields replace the contact's, an object field member by member. An
 * object field the contact lacks gets the members the edit names, which its schema then checks whole.
 */
export function applyContactEdit(contact: CanonicalContact, edit: ContactEdit): CanonicalContactInput {
  const { address, nurtureSequence, ...fields } = edit;
  const merged = <T extends object>(held: T | null, members: Partial<T> | null | undefined) =>
    members === undefined ? held : members === null ? null : { ...held, ...members };
  const mergedAddress = merged(contact.address, address);
  return {
    ...contact,
    ...fields,
    // An address with no line, postcode or country is none: `{}` where none is held, or every member cleared.
    address:
      mergedAddress !== null && Object.values(mergedAddress).every((v) => v == null) ? null : mergedAddress,
    nurtureSequence: merged(contact.nurtureSequence, nurtureSequence),
  } as CanonicalContactInput;
}
