import { normalisePhone, PHONE_EXTENSION } from '../../core/normalise/phone.ts';
import { err, ok, type Result } from '../../core/result.ts';
import { type CanonicalContact, type ContactPatch, canonicalContactSchema } from '../../core/schemas.ts';
import type { InboundRecord, InboundRecordError, RecordRead } from '../provider.ts';
import { recordError, textOrNull } from '../records.ts';
import {
  type AltoContact,
  type AltoCreateContact,
  type AltoPatchOperation,
  type AltoSearchItem,
  altoContactListItemSchema,
  altoFiledUnderSchema,
  altoSearchItemSchema,
} from './schemas.ts';
import { ALTO_ADDRESS_LIMITS, ALTO_PERSON_LIMITS, ALTO_SYNCED_CATEGORIES } from './spec.ts';

/**
 * The category Alto files a contact under, from a list item, a search item or a full Contact [A1]; `null` where the
 * answer does not say, or is not an object (its own schema then reports it).
 */
export function filedUnder(raw: unknown): string | null {
  const read = altoFiledUnderSchema.safeParse(raw);
  if (!read.success) return null;
  return read.data.contactType?.category ?? read.data.category ?? null;
}

/**
 * Whether a contact is one NurtureHub syncs: filed under `Client` or `PreviousClient`, or under no stated category (a
 * field the answer left out says nothing against it). A solicitor, bank or guarantor is not ours: never listed,
 * found or read.
 */
export function isSyncedContact(raw: unknown): boolean {
  const category = filedUnder(raw);
  return category === null || ALTO_SYNCED_CATEGORIES.has(category);
}

/** The person fields we read, whichever Alto response they came from. */
interface PersonView {
  title: string | null | undefined;
  forename: string | null | undefined;
  surname: string | null | undefined;
  phone: string | null | undefined;
  email: string | null | undefined;
}

/**
 * Alto lists one untyped phone per person (the first as recorded [A1]). ASSUMPTION: a UK mobile number
 * (+447…) is the mobile phone, anything else the home phone.
 */
function phoneFields(phone: string | null | undefined) {
  const value = textOrNull(phone);
  if (value === null) return { mobilePhone: null, homePhone: null };
  return normalisePhone(value)?.startsWith('+447')
    ? { mobilePhone: value, homePhone: null }
    : { mobilePhone: null, homePhone: value };
}

function toRecord(
  raw: unknown,
  p: { id: string; modified: string; archived: boolean; person: PersonView | undefined },
): Result<InboundRecord, InboundRecordError> {
  // ASSUMPTION: the first person of a contact (1–2 people [A1]) is the one NurtureHub nurtures.
  const person = p.person;
  const contact = canonicalContactSchema.safeParse({
    title: textOrNull(person?.title),
    firstName: textOrNull(person?.forename),
    lastName: textOrNull(person?.surname),
    email: textOrNull(person?.email),
    ...phoneFields(person?.phone),
    status: p.archived ? 'archived' : 'active',
  });
  if (!contact.success) return err(recordError(raw, contact.error));
  return ok({
    externalId: p.id,
    modified: p.modified,
    // No ETag or version on Alto contacts [A1].
    version: null,
    contact: contact.data,
    removed: p.archived,
  });
}

/** A `GET /contacts/all` item → an inbound record, or a per-record error. */
export function fromListItem(raw: unknown): Result<InboundRecord, InboundRecordError> {
  const wire = altoContactListItemSchema.safeParse(raw);
  if (!wire.success) return err(recordError(raw, wire.error));
  const first = wire.data.contactInformation?.[0];
  return toRecord(raw, {
    id: wire.data.id,
    modified: wire.data.modifiedAt,
    archived: !wire.data.isActive,
    person: first && {
      title: first.title,
      forename: first.foreName,
      surname: first.surname,
      phone: first.phoneNumber,
      email: first.emailAddress,
    },
  });
}

/** A `GET /contacts/search` item → an inbound record (same fields as the list: first phone, first e-mail). */
export function fromSearchItem(
  raw: unknown,
): Result<{ record: InboundRecord; item: AltoSearchItem }, InboundRecordError> {
  const wire = altoSearchItemSchema.safeParse(raw);
  if (!wire.success) return err(recordError(raw, wire.error));
  const first = wire.data.people?.[0];
  const record = toRecord(raw, {
    id: wire.data.id,
    // No date is no instant, which dates no edit (`InboundRecord.modified`).
    modified: wire.data.modifiedDate ?? '',
    archived: wire.data.archived,
    person: first && {
      title: first.title,
      forename: first.forename,
      surname: first.surname,
      phone: first.phoneNumbers?.[0]?.phoneNumber,
      email: first.emails?.[0]?.emailAddress,
    },
  });
  return record.ok ? ok({ record: record.value, item: wire.data }) : record;
}

/**
 * A full `Contact` (`GET /contacts/{id}`) → the record as the listing shows it: the first person, their first phone
 * and e-mail in preference order [A1].
 */
export function fromContact(contact: AltoContact): Result<RecordRead, InboundRecordError> {
  const person = contact.people[0];
  const read = toRecord(contact, {
    id: contact.id,
    modified: '',
    archived: contact.archived === true,
    person: person && {
      title: person.title,
      forename: person.forename,
      surname: person.surname,
      phone: preferred(person.phoneNumbers ?? [])?.number,
      email: preferred(person.emailAddresses ?? [])?.address,
    },
  });
  if (!read.ok) return read;
  const { modified: _, ...record } = read.value;
  return ok(record);
}

const preferred = <T extends { preferenceOrder?: number | null | undefined }>(items: readonly T[]) =>
  [...items].sort((a, b) => (a.preferenceOrder ?? 0) - (b.preferenceOrder ?? 0))[0];

/**
 * The contact a create makes, as the listing will show it: the first person's names and only its first phone and
 * e-mail [A1] (a second phone sent with the create is kept by Alto but never listed).
 */
export function listedCreate(body: AltoCreateContact): CanonicalContact | undefined {
  const person = body.people[0];
  const listed = toRecord(body, {
    id: 'created',
    modified: '',
    archived: false,
    person: person && {
      title: person.title,
      forename: person.forename,
      surname: person.surname,
      phone: person.phoneNumbers?.[0]?.number,
      email: person.emailAddresses?.[0]?.address,
    },
  });
  return listed.ok ? listed.value.contact : undefined;
}

/** Contact-level JSON Patch operations for a patch (`/Active` only among our fields [A1]). */
export function contactOperations(patch: ContactPatch): AltoPatchOperation[] {
  return patch.status === undefined
    ? []
    : [{ op: 'replace', path: '/Active', value: patch.status === 'active' }];
}

/** Whether a patch touches a person-level field we can write. */
export const touchesPerson = (patch: ContactPatch): boolean =>
  'title' in patch || 'firstName' in patch || 'lastName' in patch || 'email' in patch;

/**
 * Person-level operations [A1]. Names are `replace` on `/Title`, `/Forename`, `/Surname`. The e-mail is the
 * first of the person's list, so a new one replaces the whole `/EmailAddresses` list with the new address
 * first and the others kept, each with the `Type` Alto gave it (the new address takes the type it already had
 * when it was one of the others; letter case is no difference). ASSUMPTION: `replace` on the list path
 * replaces the list in order (the schema's op enum is `replace`, path default `/EmailAddresses`; the worked
 * example only shows `add` at `/-`).
 */
export function personOperations(
  patch: ContactPatch,
  person: AltoContact['people'][number],
): AltoPatchOperation[] {
  const ops: AltoPatchOperation[] = [];
  // ASSUMPTION: an empty string clears a name. A surname cannot be cleared: `update` refuses such a patch.
  if ('title' in patch) ops.push({ op: 'replace', path: '/Title', value: patch.title ?? '' });
  if ('firstName' in patch) ops.push({ op: 'replace', path: '/Forename', value: patch.firstName ?? '' });
  if (patch.lastName) ops.push({ op: 'replace', path: '/Surname', value: patch.lastName });
  if ('email' in patch) {
    const current = personEmails(person);
    const same = (e: { Address: string }) => e.Address.toLowerCase() === patch.email?.toLowerCase();
    const rest = current.slice(1).filter((e) => !same(e));
    const type = current.find(same)?.Type;
    const list = patch.email
      ? [{ Address: patch.email, ...(type === undefined ? {} : { Type: type }) }, ...rest]
      : rest;
    ops.push({ op: 'replace', path: '/EmailAddresses', value: list });
  }
  return ops;
}

/** The person's e-mail addresses in Alto's order (the first is the contact's), each with the `Type` Alto gave it. */
function personEmails(person: AltoContact['people'][number]): Array<{ Address: string; Type?: string }> {
  return [...(person.emailAddresses ?? [])]
    .sort((a, b) => (a.preferenceOrder ?? 0) - (b.preferenceOrder ?? 0))
    .flatMap((e) => {
      const address = textOrNull(e.address);
      const type = textOrNull(e.type);
      return address === null ? [] : [{ Address: address, ...(type === null ? {} : { Type: type }) }];
    });
}

/**
 * Why clearing the e-mail of `patch` cannot be written: Alto lists the person's first address as the contact's,
 * so clearing it where the person holds a second makes that second the e-mail. Acknowledged, the next cycle read
 * it as an agency edit and copied it back over NurtureHub's cleared field. `null` when it can be written.
 */
export function clearingEmailPromotes(
  patch: ContactPatch,
  person: AltoContact['people'][number],
): { field: 'email'; message: string } | null {
  if (!('email' in patch) || patch.email || personEmails(person).length < 2) return null;
  return {
    field: 'email',
    message:
      'Alto lists the person’s first e-mail as the contact’s: clearing it would make their second one the e-mail',
  };
}

/**
 * The address as Alto's create takes it, or nothing when a part is longer than Alto takes (`ALTO_ADDRESS_LIMITS`):
 * one over-long line would refuse the whole create, and sync never reads Alto's address back (it is not on the
 * delta feed). Left out whole rather than cut: a shortened or partial address would look right and be wrong.
 */
function altoAddress(a: NonNullable<CanonicalContact['address']>): AltoCreateContact['address'] {
  const address = {
    ...(a.line1 ? { street: a.line1 } : {}),
    ...(a.line2 ? { locality: a.line2 } : {}),
    ...(a.line3 ? { town: a.line3 } : {}),
    ...(a.line4 ? { county: a.line4 } : {}),
    ...(a.postcode ? { postcode: a.postcode } : {}),
    ...(a.countryCode ? { countryCode: a.countryCode } : {}),
  };
  const fits = Object.entries(address).every(
    ([part, value]) => value.length <= ALTO_ADDRESS_LIMITS[part as keyof typeof ALTO_ADDRESS_LIMITS],
  );
  return fits ? address : undefined;
}

/**
 * The first name (title, forename, surname) of a contact or a patch longer than Alto's `Person` takes, as the
 * refusal to give instead of sending it; `null` when every one fits. Cutting a name to fit would write a wrong one.
 */
export function overLongName(names: Pick<ContactPatch, 'title' | 'firstName' | 'lastName'>): {
  field: 'title' | 'firstName' | 'lastName';
  message: string;
} | null {
  const checks = [
    ['title', 'title', ALTO_PERSON_LIMITS.title],
    ['firstName', 'forename', ALTO_PERSON_LIMITS.forename],
    ['lastName', 'surname', ALTO_PERSON_LIMITS.surname],
  ] as const;
  for (const [field, altoField, limit] of checks) {
    const value = names[field];
    if (typeof value === 'string' && value.length > limit)
      return {
        field,
        message: `Alto takes a ${altoField} of at most ${limit} characters; this one has ${value.length}`,
      };
  }
  return null;
}

/**
 * Alto's phone pattern `^[\+]?[0-9\s]{10,20}$` [A1]: keep digits, spaces and a leading plus. It has no room for an
 * extension, which is left out (its digits glued on made another number: `020 7946 0000 214`), nor for the `(0)`
 * of `+44 (0)20 …`, which is not dialled after +44 (kept, it made `+44 0 20 …`).
 */
export function altoPhone(value: string | null): string | null {
  if (value === null) return null;
  const cleaned = value
    .trim()
    .replace(PHONE_EXTENSION, '')
    .replace(/^00/, '+')
    .replace(/^(\+\d{1,3})\s*\(0\)/, '$1 ')
    .replace(/[^\d+\s]/g, ' ')
    .replace(/(?!^)\+/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return /^\+?[0-9\s]{10,20}$/.test(cleaned) ? cleaned : null;
}

/** A full canonical contact → `PostContactRequest` [A1]. Fields Alto cannot hold are left out. */
export function toAltoCreate(params: {
  contact: CanonicalContact;
  branchId: string;
  negotiatorId: string | undefined;
}): AltoCreateContact {
  const c = params.contact;
  const phones = (
    [
      ['Mobile', altoPhone(c.mobilePhone)],
      ['Home', altoPhone(c.homePhone)],
      ['Work', altoPhone(c.workPhone)],
    ] as const
  ).flatMap(([type, number]) => (number ? [{ type, number }] : []));
  const address = c.address === null ? undefined : altoAddress(c.address);
  return {
    branchId: params.branchId,
    ...(params.negotiatorId ? { negotiatorId: params.negotiatorId } : {}),
    category: 'Client',
    ...(address ? { address } : {}),
    people: [
      {
        ...(c.title ? { title: c.title } : {}),
        ...(c.firstName ? { forename: c.firstName } : {}),
        surname: c.lastName ?? '',
        ...(phones.length > 0 ? { phoneNumbers: phones } : {}),
        ...(c.email ? { emailAddresses: [{ address: c.email }] } : {}),
      },
    ],
  };
}
