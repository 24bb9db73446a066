/** What agencies type for the United Kingdom, lower case: each is `GB` in a canonical address. */
export const UK_COUNTRY_NAMES: ReadonlySet<string> = new Set([
  'united kingdom',
  'uk',
  'gb',
  'great britain',
  'england',
  'scotland',
  'wales',
  'northern ireland',
]);

/**
 * A CRM's country text → an ISO 3166-1 alpha-2 code: a UK name (`UK` and `U.K.` included, which is no ISO code and would read
 * as a country apart from the other CRMs' `GB`) → `GB`; another two letters as they are; any other name → `null`.
 */
export function countryCodeOf(text: string | null): string | null {
  if (text === null) return null;
  const lower = text.trim().toLowerCase().replaceAll('.', '');
  if (UK_COUNTRY_NAMES.has(lower) || lower.includes('united kingdom')) return 'GB';
  return /^[a-z]{2}$/.test(lower) ? lower.toUpperCase() : null;
}
