import type { SimDialect } from '../simulator/db.ts';
import type { SeedContact } from '../simulator/generator.ts';
import { type SubMillisecondTicks, sevenDigitStamp } from '../simulator/ticks.ts';

/**
 * The Alto simulator's stored record and how it renders: a record holds what the list item, the full Contact, its
 * Persons and its consent preferences are rendered from (docs/providers.md, Alto [A1][A2][A4]).
 */

export type PhoneType = 'Unspecified' | 'Home' | 'Business' | 'Mobile' | 'Fax' | 'Work' | 'ISDN';
/** .NET enum order, for JSON Patch values that send `"Type": 1` as in the vendor example [A1]. */
export const PHONE_TYPES: readonly PhoneType[] = [
  'Unspecified',
  'Home',
  'Business',
  'Mobile',
  'Fax',
  'Work',
  'ISDN',
];

export interface AltoPhone {
  preferenceOrder: number;
  type: PhoneType;
  number: string;
  description: string | null;
}
export type EmailType = 'Unknown' | 'Personal' | 'Business';
/** .NET enum order as [A1] lists the members, for JSON Patch values that send the type as a number. */
export const EMAIL_TYPES: readonly EmailType[] = ['Unknown', 'Personal', 'Business'];

export interface AltoEmail {
  preferenceOrder: number;
  type: EmailType;
  address: string;
}
export interface AltoPerson {
  id: string;
  title: string | null;
  forename: string | null;
  surname: string;
  phoneNumbers: AltoPhone[];
  emailAddresses: AltoEmail[];
}
interface AltoAddress {
  subDwelling: string | null;
  nameNumber: string | null;
  street: string | null;
  locality: string | null;
  town: string | null;
  county: string | null;
  postcode: string | null;
  countryCode: string | null;
  uprn: string | null;
}
type OptIn = 'Denied' | 'Granted' | 'Unknown' | 'GrantedOrUnknown';
/**
 * The categories Alto files a contact under (`ContactType.category` [A1]); `Client` is the agency's own applicants,
 * vendors, landlords and tenants, `ContactRelationship` "a non-marketable relationship contact, such as a guarantor".
 */
export const ALTO_CATEGORIES = [
  'Unknown',
  'Client',
  'Solicitor',
  'BuildingSociety',
  'Bank',
  'Publication',
  'EstateAgent',
  'ManagingAgent',
  'Developer',
  'Builder',
  'Utility',
  'Service',
  'PreviousClient',
  'Miscellaneous',
  'FinancialAdvisor',
  'Maintenance',
  'OnSiteSales',
  'ExternalPrinter',
  'OtherCategory1',
  'EstateAgentLocal',
  'Surveyor',
  'Supplier',
  'ContactRelationship',
  'Accountant',
] as const;
export type AltoCategory = (typeof ALTO_CATEGORIES)[number];
interface AltoPreference {
  id: number;
  contactId: number;
  versionNumber: number;
  dateActioned: string | null;
  optInStatus: OptIn;
  type: 'GeneralMarketing';
  actionedBy: string | null;
  additionalInformation: string | null;
}
/** The simulator's stored record (what `GET /_sim/records` returns). */
export interface AltoRecord {
  id: string;
  createdAt: string;
  modifiedAt: string;
  isActive: boolean;
  /** The full Contact's and search item's `category`; the list item's `contactType.category` is the same [A1]. */
  category: AltoCategory;
  contactType: { category: AltoCategory; persona: string[] };
  branch: { id: string };
  address: AltoAddress | null;
  people: AltoPerson[];
  potentialVendor: boolean;
  potentialLandlord: boolean;
  notes: string | null;
  /** The separate consent resource `GET /contacts/{id}/preferences` [A1]. */
  preferences: AltoPreference[];
}

export const CREDENTIALS = {
  clientId: 'sim-alto-client',
  clientSecret: 'sim-alto-secret',
  agencyRef: 'SIMAGY01',
} as const;
export const BRANCH = '3156';
export const NEGOTIATOR = '1234';

/** The stamp Alto writes on record `id` at `ms`. */
export type Timestamp = (id: string, ms: number) => string;

/** Alto writes .NET timestamps with 7 fractional digits and `+00:00` [A1]; `ticks` gives the 4 below the ms. */
export const timestampWith =
  (ticks: SubMillisecondTicks): Timestamp =>
  (id, ms) =>
    sevenDigitStamp(ms, ticks(id, ms), '+00:00');

const CONSENT: Record<SeedContact['marketingConsent'], OptIn> = {
  grant: 'Granted',
  deny: 'Denied',
  notAsked: 'Unknown',
};

export function preferencesFor(
  timestamp: Timestamp,
  id: string,
  consent: SeedContact['marketingConsent'],
  atMs: number,
): AltoPreference[] {
  return [
    {
      id: Number(id) * 10,
      contactId: Number(id),
      versionNumber: 1,
      dateActioned: consent === 'notAsked' ? null : timestamp(id, atMs),
      optInStatus: CONSENT[consent],
      type: 'GeneralMarketing',
      actionedBy: null,
      additionalInformation: null,
    },
  ];
}

function personFromSeed(c: SeedContact, id: string): AltoPerson {
  const phones = (
    [
      ['Mobile', c.mobilePhone],
      ['Home', c.homePhone],
      ['Work', c.workPhone],
    ] as const
  ).flatMap(([type, number]) => (number ? [{ type, number }] : []));
  return {
    id,
    title: c.title,
    forename: c.firstName,
    surname: c.lastName,
    // Stored as agency staff typed them: Alto validates the pattern on create, not on legacy data.
    phoneNumbers: phones.map((p, i) => ({ preferenceOrder: i + 1, ...p, description: null })),
    emailAddresses: c.email ? [{ preferenceOrder: 1, type: 'Personal', address: c.email }] : [],
  };
}

function addressFromSeed(c: SeedContact): AltoAddress | null {
  if (!c.address) return null;
  const flat = c.address.buildingNumber.startsWith('Flat');
  return {
    subDwelling: flat ? c.address.buildingNumber : null,
    nameNumber: flat ? null : c.address.buildingNumber,
    street: c.address.street,
    locality: c.address.locality,
    town: c.address.town,
    county: c.address.county,
    postcode: c.address.postcode,
    countryCode: 'GB',
    uprn: null,
  };
}

export const altoDialectWith = (timestamp: Timestamp): SimDialect<AltoRecord> => ({
  // Numeric string ids of one width, so string order and numeric order agree.
  newId: (n) => String(23_700_000 + n),
  fromSeed: (contact, id, createdMs, modifiedMs) => ({
    id,
    createdAt: timestamp(id, createdMs),
    modifiedAt: timestamp(id, modifiedMs),
    isActive: !contact.archived,
    category: 'Client',
    contactType: { category: 'Client', persona: ['Applicant'] },
    branch: { id: BRANCH },
    address: addressFromSeed(contact),
    // ASSUMPTION: person ids count within the contact ("The Person identifier within the Contact", example '1').
    people: [personFromSeed(contact, '1')],
    potentialVendor: false,
    potentialLandlord: false,
    notes: null,
    preferences: preferencesFor(timestamp, id, contact.marketingConsent, modifiedMs),
  }),
  toSeed: (r) => {
    const person = r.people[0];
    const phone = (type: PhoneType) => person?.phoneNumbers.find((p) => p.type === type)?.number ?? null;
    const status = r.preferences.find((p) => p.type === 'GeneralMarketing')?.optInStatus;
    return {
      title: person?.title ?? null,
      firstName: person?.forename ?? null,
      lastName: person?.surname ?? '',
      email: person?.emailAddresses[0]?.address ?? null,
      mobilePhone: phone('Mobile'),
      homePhone: phone('Home'),
      workPhone: phone('Work'),
      address:
        r.address?.street && r.address.town && r.address.postcode
          ? {
              buildingNumber: r.address.nameNumber ?? r.address.subDwelling ?? '',
              street: r.address.street,
              locality: r.address.locality,
              town: r.address.town,
              county: r.address.county,
              postcode: r.address.postcode,
            }
          : null,
      // Alto holds no date of birth.
      dateOfBirth: null,
      marketingConsent: status === 'Granted' ? 'grant' : status === 'Denied' ? 'deny' : 'notAsked',
      archived: r.isActive !== true,
    };
  },
  withSeed: (r, contact, modifiedMs) => ({
    ...r,
    modifiedAt: timestamp(r.id, modifiedMs),
    isActive: !contact.archived,
    address: addressFromSeed(contact),
    people: [personFromSeed(contact, r.people[0]?.id ?? '1'), ...r.people.slice(1)],
    // ASSUMPTION: a consent change bumps the contact's modifiedAt (Alto does not say).
    preferences: preferencesFor(timestamp, r.id, contact.marketingConsent, modifiedMs),
  }),
  // `isActive` is a boolean in ContactListItem [A1]: the adapter must quarantine this record alone.
  malformed: (r) => ({ ...r, isActive: 'Y' as unknown as boolean }),
  id: (r) => r.id,
  modified: (r) => r.modifiedAt,
});

/** Alto's error body on contacts operations [A1]. */
export const failure = (status: number, code: string, message: string, headers?: Record<string, string>) => ({
  status,
  ...(headers ? { headers } : {}),
  body: { errors: [{ code, message }] },
});

const first = <T extends { preferenceOrder: number }>(items: readonly T[]): T | undefined =>
  [...items].sort((a, b) => a.preferenceOrder - b.preferenceOrder)[0];

const links = (r: AltoRecord) => [{ href: `/contacts/${r.id}`, rel: 'self' }];

/** `ContactListItem` [A1]: one `contactInformation` entry per person, first phone and e-mail only. */
export function listItem(r: AltoRecord) {
  return {
    id: r.id,
    links: links(r),
    contactType: r.contactType,
    contactInformation: r.people.map((p) => ({
      title: p.title,
      foreName: p.forename,
      surname: p.surname,
      phoneNumber: first(p.phoneNumbers)?.number ?? null,
      emailAddress: first(p.emailAddresses)?.address ?? null,
    })),
    position: null,
    intention: null,
    disposal: null,
    branch: r.branch,
    leadSource: null,
    isActive: r.isActive,
    potentialVendor: r.potentialVendor,
    potentialLandlord: r.potentialLandlord,
    createdAt: r.createdAt,
    modifiedAt: r.modifiedAt,
    notes: r.notes,
    companyName: null,
    applicantRequirements: [],
  };
}

export const personView = (p: AltoPerson) => ({ ...p, links: [] });

/** The full `Contact` [A1]. */
export function fullContact(r: AltoRecord) {
  return {
    id: r.id,
    links: links(r),
    address: r.address,
    branch: r.branch,
    people: r.people.map(personView),
    category: r.category,
    lead: null,
    position: null,
    intention: null,
    disposal: null,
    notes: r.notes,
    archived: r.isActive !== true,
    companyName: null,
    potentialVendor: r.potentialVendor,
    potentialLandlord: r.potentialLandlord,
    applicantRequirements: [],
    modifiedDate: r.modifiedAt,
  };
}

/** `ContactSearchItemResponse` [A1]. */
export function searchItem(r: AltoRecord) {
  return {
    id: r.id,
    links: links(r),
    contactId: r.id,
    displayName: r.people.map((p) => [p.title, p.forename, p.surname].filter(Boolean).join(' ')).join(' & '),
    archived: r.isActive !== true,
    potentialVendor: r.potentialVendor,
    potentialLandlord: r.potentialLandlord,
    notes: r.notes,
    category: r.category,
    registeredOn: r.createdAt,
    lastContactedOn: null,
    address: r.address,
    people: r.people.map((p) => ({
      personId: p.id,
      title: p.title,
      forename: p.forename,
      surname: p.surname,
      emails: [...p.emailAddresses]
        .sort((a, b) => a.preferenceOrder - b.preferenceOrder)
        .map((e, i) => ({ emailAddressId: `${r.id}-${p.id}-e${i}`, emailAddress: e.address })),
      phoneNumbers: [...p.phoneNumbers]
        .sort((a, b) => a.preferenceOrder - b.preferenceOrder)
        .map((n, i) => ({ phoneNumberId: `${r.id}-${p.id}-p${i}`, phoneNumber: n.number })),
    })),
    properties: [],
    applicantRequirements: [],
    modifiedDate: r.modifiedAt,
  };
}
