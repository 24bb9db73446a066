/**
 * Letters NFKD leaves whole (they are letters of their own, not a base letter and a mark), written as an English
 * keyboard types them: Søren is typed Soren, Michał Michal, Æthelred Aethelred.
 */
const LETTERS_TYPED_APART: Record<string, string> = {
  ø: 'o',
  ł: 'l',
  æ: 'ae',
  œ: 'oe',
  ß: 'ss',
  đ: 'd',
  ð: 'd',
  þ: 'th',
  ı: 'i',
  ħ: 'h',
  ŧ: 't',
};
const LETTER_TYPED_APART = new RegExp(`[${Object.keys(LETTERS_TYPED_APART).join('')}]`, 'g');

/**
 * Text folded for comparison: Unicode compatibility form, diacritics removed, lower case, apostrophes
 * dropped (O'Brien = obrien), every other run of what is neither a letter nor a digit a single space. Letters of
 * every script are kept: folded to a–z only, Иван Петров and 王伟 read as no name at all, and a family sharing an
 * e-mail matched as one person; Søren read as `s r`. Characters that show as nothing (format characters:
 * zero-width space, soft hyphen, word joiner, byte order mark), pasted in with a name from a web page, are dropped
 * too: read as a space, they split `Am\u200Bira` into two names.
 */
export function foldText(raw: string | null | undefined): string {
  return (raw ?? '')
    .normalize('NFKD')
    .replace(/[\p{M}\p{Cf}]/gu, '')
    .toLowerCase()
    .replace(LETTER_TYPED_APART, (letter) => LETTERS_TYPED_APART[letter] ?? letter)
    .replace(/['’`]/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}
