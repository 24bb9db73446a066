/** The Alto simulator's write routes: create a contact, JSON Patch a contact or one of its people [A1]. */
import type { SimDb } from '../simulator/db.ts';
import type { SimRequest, SimResponse } from '../simulator/server.ts';
import {
  type AltoEmail,
  type AltoPerson,
  type AltoPhone,
  type AltoRecord,
  EMAIL_TYPES,
  type EmailType,
  failure,
  fullContact,
  PHONE_TYPES,
  type PhoneType,
  personView,
  preferencesFor,
  type Timestamp,
} from './simulatorRecords.ts';
import { ALTO_ADDRESS_LIMITS, ALTO_PERSON_LIMITS } from './spec.ts';

const PHONE_PATTERN = /^[+]?[0-9\s]{10,20}$/;
/** `maxLength` of the create's person and address fields [A1]; ASSUMPTION: a person's PATCH keeps the same. */
const LIMITS: Record<'person' | 'address', Readonly<Record<string, number>>> = {
  person: ALTO_PERSON_LIMITS,
  address: ALTO_ADDRESS_LIMITS,
};
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';
const str = (v: unknown) => (typeof v === 'string' ? v : null);

/** A message for each of `fields` longer than the request's `maxLength` allows. */
function tooLong(kind: 'person' | 'address', fields: Record<string, unknown>): string[] {
  return Object.entries(LIMITS[kind]).flatMap(([field, max]) => {
    const value = str(fields[field]);
    return value !== null && value.length > max ? [`${kind}.${field} must be at most ${max} characters`] : [];
  });
}

export function create(
  db: SimDb<AltoRecord>,
  timestamp: Timestamp,
  req: SimRequest,
  baseUrl: string,
): SimResponse {
  if (!isObject(req.body)) return failure(400, 'InvalidRequest', 'Body must be a JSON object');
  const body = req.body;
  const errors: string[] = [];
  if (!str(body.branchId)) errors.push('branchId is required');
  const people = Array.isArray(body.people) ? body.people : [];
  if (people.length < 1 || people.length > 2) errors.push('people must hold 1 or 2 people');
  if (isObject(body.address)) errors.push(...tooLong('address', body.address));
  for (const p of people) {
    if (!isObject(p) || !str(p.surname)) {
      errors.push('people[].surname is required');
      continue;
    }
    errors.push(...tooLong('person', p));
    const phones = Array.isArray(p.phoneNumbers) ? p.phoneNumbers : [];
    const emails = Array.isArray(p.emailAddresses) ? p.emailAddresses : [];
    if (phones.length > 4) errors.push('at most 4 phone numbers per person');
    if (emails.length > 2) errors.push('at most 2 e-mail addresses per person');
    for (const n of phones)
      if (!isObject(n) || !PHONE_PATTERN.test(str(n.number) ?? ''))
        errors.push('phoneNumbers[].number is invalid');
    for (const e of emails)
      if (!isObject(e) || !(str(e.address) ?? '').includes('@'))
        errors.push('emailAddresses[].address is invalid');
  }
  if (errors.length > 0)
    return { status: 400, body: { errors: errors.map((message) => ({ code: 'ValidationError', message })) } };

  const parsed = people as Array<Record<string, unknown>>;
  const emailsOf = (p: Record<string, unknown>) =>
    (Array.isArray(p.emailAddresses) ? p.emailAddresses : []).map((e) =>
      String((e as Record<string, unknown>).address)
        .trim()
        .toLowerCase(),
    );
  // ASSUMPTION (Alto does not publish its rule): a duplicate is an active contact with a person of the same
  // surname sharing an e-mail address.
  const duplicate = db
    .list()
    .find(
      (r) =>
        r.isActive === true &&
        parsed.some((p) =>
          r.people.some(
            (q) =>
              q.surname.trim().toLowerCase() === String(p.surname).trim().toLowerCase() &&
              q.emailAddresses.some((e) => emailsOf(p).includes(e.address.trim().toLowerCase())),
          ),
        ),
    );
  if (duplicate) {
    // ASSUMPTION: an absolute URL (no example is published); the push reads only its last path segment.
    return failure(409, 'Conflict', 'Duplicate contacts found. Check Location response headers for URI.', {
      location: `${baseUrl}/contacts/${duplicate.id}`,
    });
  }
  const at = db.stamp();
  const address = isObject(body.address) ? body.address : null;
  const record = db.insert((id) => ({
    id,
    createdAt: timestamp(id, at),
    modifiedAt: timestamp(id, at),
    isActive: true,
    category: 'Client',
    contactType: { category: 'Client', persona: [] },
    branch: { id: String(body.branchId) },
    address: address && {
      subDwelling: str(address.subDwelling),
      nameNumber: str(address.nameNumber),
      street: str(address.street),
      locality: str(address.locality),
      town: str(address.town),
      county: str(address.county),
      postcode: str(address.postcode),
      countryCode: str(address.countryCode) ?? 'GB',
      uprn: str(address.uprn),
    },
    people: parsed.map((p, i) => ({
      id: String(i + 1),
      title: str(p.title),
      forename: str(p.forename),
      surname: String(p.surname),
      phoneNumbers: (Array.isArray(p.phoneNumbers) ? p.phoneNumbers : []).map((n, k) => ({
        preferenceOrder: k + 1,
        type: phoneType((n as Record<string, unknown>).type) ?? 'Home',
        number: String((n as Record<string, unknown>).number),
        description: str((n as Record<string, unknown>).description),
      })),
      emailAddresses: (Array.isArray(p.emailAddresses) ? p.emailAddresses : []).map((e, k) => ({
        preferenceOrder: k + 1,
        type: emailType((e as Record<string, unknown>).type) ?? 'Unknown',
        address: String((e as Record<string, unknown>).address),
      })),
    })),
    potentialVendor: body.potentialVendor === true,
    potentialLandlord: body.potentialLandlord === true,
    notes: str(body.notes),
    preferences: preferencesFor(timestamp, id, 'notAsked', at),
  }));
  return { status: 201, body: fullContact(record), effect: 'create' };
}

function phoneType(value: unknown): PhoneType | null {
  if (typeof value === 'number') return PHONE_TYPES[value] ?? null;
  const name = PHONE_TYPES.find((t) => t.toLowerCase() === String(value).toLowerCase());
  return name ?? null;
}

/** ASSUMPTION: as a phone's type, a name (any letter case) or the .NET enum number; another value is no type. */
function emailType(value: unknown): EmailType | null {
  if (typeof value === 'number') return EMAIL_TYPES[value] ?? null;
  const name = EMAIL_TYPES.find((t) => t.toLowerCase() === String(value).toLowerCase());
  return name ?? null;
}

/** JSON Patch body checks shared by both PATCH routes [A1]. */
function operations(req: SimRequest): Array<{ op: string; path: string; value: unknown }> | SimResponse {
  // ASSUMPTION: another media type is refused with 415 (the OpenAPI lists only application/json-patch+json).
  if (!String(req.headers['content-type'] ?? '').startsWith('application/json-patch+json'))
    return failure(415, 'UnsupportedMediaType', 'Content-Type must be application/json-patch+json');
  if (!Array.isArray(req.body) || req.body.length === 0)
    return failure(400, 'InvalidPatch', 'Body must be a non-empty JSON Patch array');
  const ops = req.body.filter(isObject);
  if (ops.length !== req.body.length || ops.some((o) => !['replace', 'add'].includes(String(o.op))))
    return failure(400, 'InvalidPatch', 'Only replace and add operations are supported');
  // ASSUMPTION: paths match case-insensitively (`/title` as `/Title`); the adapter sends them as [A1] spells them.
  return ops.map((o) => ({ op: String(o.op), path: String(o.path).toLowerCase(), value: o.value }));
}

const bool = (v: unknown) =>
  v === true || v === 'true' ? true : v === false || v === 'false' ? false : null;

export function patchContact(
  db: SimDb<AltoRecord>,
  timestamp: Timestamp,
  req: SimRequest,
  record: AltoRecord,
): SimResponse {
  const ops = operations(req);
  if (!Array.isArray(ops)) return ops;
  const next = { ...record };
  for (const o of ops) {
    if (o.path === '/active' || o.path === '/potentialvendor' || o.path === '/potentiallandlord') {
      const value = bool(o.value);
      if (value === null) return failure(400, 'InvalidPatch', `${o.path} must be a boolean`);
      if (o.path === '/active') next.isActive = value;
      else if (o.path === '/potentialvendor') next.potentialVendor = value;
      else next.potentialLandlord = value;
    } else if (!['/positionid', '/intentionid', '/disposalid'].includes(o.path)) {
      return failure(400, 'InvalidPatch', `Path ${o.path} cannot be patched`);
    }
  }
  // ASSUMPTION: any contact patch, archiving (`/Active`) among them, moves `modifiedAt` (Alto does not say).
  next.modifiedAt = timestamp(record.id, db.stamp());
  db.put(next);
  return { status: 200, body: fullContact(next), effect: 'update' };
}

export function patchPerson(
  db: SimDb<AltoRecord>,
  timestamp: Timestamp,
  req: SimRequest,
  record: AltoRecord,
  target: AltoPerson,
): SimResponse {
  const ops = operations(req);
  if (!Array.isArray(ops)) return ops;
  const person: AltoPerson = { ...target };
  for (const o of ops) {
    const [tooLongName] = tooLong('person', { [o.path.slice(1)]: o.value });
    if (tooLongName !== undefined) return failure(400, 'InvalidPatch', tooLongName);
    if (o.path === '/title' || o.path === '/forename') {
      if (o.value !== null && typeof o.value !== 'string')
        return failure(400, 'InvalidPatch', `${o.path} must be text`);
      const value = o.value === '' ? null : (o.value as string | null);
      if (o.path === '/title') person.title = value;
      else person.forename = value;
    } else if (o.path === '/surname') {
      if (typeof o.value !== 'string' || o.value.trim() === '')
        return failure(400, 'InvalidPatch', 'Surname cannot be empty');
      person.surname = o.value;
    } else if (o.path === '/emailaddresses' || o.path === '/emailaddresses/-') {
      const values = o.path.endsWith('/-') ? [o.value] : Array.isArray(o.value) ? o.value : null;
      // ASSUMPTION: an address sent without a type (or with one outside the enum) is filed as `Unknown`.
      const emails = values?.map((v) => {
        const address = isObject(v) ? str(v.Address ?? v.address) : null;
        return isObject(v) && address?.includes('@')
          ? { type: emailType(v.Type ?? v.type) ?? 'Unknown', address }
          : null;
      });
      if (!emails || emails.some((e) => e === null))
        return failure(400, 'InvalidPatch', 'EmailAddresses values need an Address');
      const list = [
        ...(o.path.endsWith('/-') ? person.emailAddresses : []),
        ...(emails as Omit<AltoEmail, 'preferenceOrder'>[]),
      ];
      if (list.length > 2) return failure(400, 'InvalidPatch', 'At most 2 e-mail addresses per person');
      person.emailAddresses = list.map((e, i) => ({
        preferenceOrder: i + 1,
        type: e.type,
        address: e.address,
      }));
    } else if (o.path === '/phonenumbers' || o.path === '/phonenumbers/-') {
      const values = o.path.endsWith('/-') ? [o.value] : Array.isArray(o.value) ? o.value : null;
      const phones = values?.map((v) =>
        isObject(v) && PHONE_PATTERN.test(str(v.Number ?? v.number) ?? '')
          ? {
              type: phoneType(v.Type ?? v.type) ?? 'Home',
              number: String(v.Number ?? v.number),
              description: str(v.Description ?? v.description),
            }
          : null,
      );
      if (!phones || phones.some((p) => p === null))
        return failure(400, 'InvalidPatch', 'PhoneNumbers values are invalid');
      const list = [
        ...(o.path.endsWith('/-') ? person.phoneNumbers : []),
        ...(phones as Omit<AltoPhone, 'preferenceOrder'>[]),
      ];
      if (list.length > 4) return failure(400, 'InvalidPatch', 'At most 4 phone numbers per person');
      person.phoneNumbers = list.map((p, i) => ({ ...p, preferenceOrder: i + 1 }));
    } else {
      return failure(400, 'InvalidPatch', `Path ${o.path} cannot be patched`);
    }
  }
  db.put({
    ...record,
    people: record.people.map((p) => (p.id === person.id ? person : p)),
    // ASSUMPTION: a person's edit moves its contact's `modifiedAt` (a Person has no stamp of its own [A1]). If Alto
    // does not, the delta feed never shows an agency's rename or new e-mail (docs/providers.md, Alto assumptions).
    modifiedAt: timestamp(record.id, db.stamp()),
  });
  return { status: 200, body: personView(person), effect: 'update' };
}
