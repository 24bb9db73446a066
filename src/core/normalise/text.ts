/**
 * Text folded for comparison: Unicode compatibility form, diacritics removed, lower case, apostrophes
 * dropped (O'Brien = obrien), every other non-alphanumeric run a single space.
 */
export function foldText(raw: string | null | undefined): string {
  return (raw ?? '')
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/['’`]/g, '')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}
