import { err, ok, type Result } from '../result.ts';
import { type MatchFieldName, type MatchFields, matchFieldNameSchema } from './matchRecord.ts';

/** Which columns of a table make up each field: `address.line1` ← [`street_number`, `address_1`]. */
export type FieldMap = ReadonlyMap<MatchFieldName, readonly string[]>;

/** Why a field mapping cannot be used. */
export type FieldMapError =
  | { readonly kind: 'badSyntax'; readonly spec: string }
  | { readonly kind: 'unknownField'; readonly field: string }
  | { readonly kind: 'missingColumn'; readonly column: string }
  | { readonly kind: 'repeatedField'; readonly field: MatchFieldName };

/** Parse `FIELD=COLUMN[+COLUMN…]` mappings, checking field names and that every column exists. */
export function parseFieldMap(
  specs: readonly string[],
  columns: readonly string[],
): Result<FieldMap, FieldMapError> {
  const map = new Map<MatchFieldName, readonly string[]>();
  for (const spec of specs) {
    const eq = spec.indexOf('=');
    const sources = spec.slice(eq + 1).split('+');
    if (eq < 1 || sources.some((s) => s === '')) return err({ kind: 'badSyntax', spec });
    const field = matchFieldNameSchema.safeParse(spec.slice(0, eq));
    if (!field.success) return err({ kind: 'unknownField', field: spec.slice(0, eq) });
    const missing = sources.find((s) => !columns.includes(s));
    if (missing !== undefined) return err({ kind: 'missingColumn', column: missing });
    // The later mapping replaced the earlier, so a field meant to take two columns silently took one.
    if (map.has(field.data)) return err({ kind: 'repeatedField', field: field.data });
    map.set(field.data, sources);
  }
  return ok(map);
}

/** One table row as match fields: mapped columns joined with a space, each value trimmed. */
export function rowToMatchFields(
  row: Readonly<Record<string, string | undefined>>,
  map: FieldMap,
): MatchFields {
  const value = (field: MatchFieldName): string | null => {
    const joined = (map.get(field) ?? [])
      .map((column) => row[column]?.trim() ?? '')
      .filter(Boolean)
      .join(' ');
    return joined === '' ? null : joined;
  };
  return {
    title: value('title'),
    firstName: value('firstName'),
    lastName: value('lastName'),
    email: value('email'),
    mobilePhone: value('mobilePhone'),
    homePhone: value('homePhone'),
    workPhone: value('workPhone'),
    dateOfBirth: value('dateOfBirth'),
    address: {
      line1: value('address.line1'),
      line2: value('address.line2'),
      postcode: value('address.postcode'),
      town: value('address.town'),
    },
  };
}

/** A one-line description of a mapping error, for the command line. */
export function describeFieldMapError(error: FieldMapError): string {
  switch (error.kind) {
    case 'badSyntax':
      return `bad --map "${error.spec}": expected FIELD=COLUMN[+COLUMN…]`;
    case 'unknownField':
      return `unknown field "${error.field}": expected one of ${matchFieldNameSchema.options.join(', ')}`;
    case 'missingColumn':
      return `no column "${error.column}" in the file`;
    case 'repeatedField':
      return `${error.field} is mapped twice: give it one --map, joining its columns with + (${error.field}=COLUMN+COLUMN)`;
  }
}
