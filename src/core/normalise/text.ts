/**
 * Text folded for comparison: Unicode compatibility form, diacritics removed, lower case, apostrophes
 * dropped (O'Brien = obrien), every other non-alphanumeric run a single space. Characters that show as nothing
 * (format characters: zero-width space, soft hyphen, word joiner, byte order mark), pasted in with a name from a web
 * page, are dropped too: read as a space, they split `Am\u200Bira` into two names.
 */
export function foldText(raw: string | null | undefined): string {
  return (raw ?? '')
    .normalize('NFKD')
    .replace(/[\p{M}\p{Cf}]/gu, '')
    .toLowerCase()
    .replace(/['’`]/g, '')
    .replace(/[^a-z0-9]+/g, ' ')
    .trim();
}
