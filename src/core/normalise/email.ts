/**
 * Mailbox providers whose documented behaviour makes two spellings reach the same inbox.
 * Google ignores dots in the local part and treats googlemail.com as gmail.com; Google, Microsoft, Apple and
 * Fastmail deliver `name+tag@` to `name@`. Elsewhere dots and plus signs may be significant, so they are kept:
 * merging two different people is worse than missing a duplicate.
 */
const domainAliases: Readonly<Record<string, string>> = {
  'googlemail.com': 'gmail.com',
};
const dotInsensitiveDomains = new Set(['gmail.com']);
const plusTagDomains = new Set([
  'gmail.com',
  'outlook.com',
  'hotmail.com',
  'hotmail.co.uk',
  'live.com',
  'live.co.uk',
  'icloud.com',
  'me.com',
  'fastmail.com',
]);

/** An e-mail address reduced to the mailbox it reaches: trimmed, lower case, provider aliases folded. */
export function normaliseEmail(raw: string | null | undefined): string | null {
  const value = raw?.trim().toLowerCase() ?? '';
  const at = value.lastIndexOf('@');
  if (at < 1 || at === value.length - 1 || /\s/.test(value)) return null;
  let local = value.slice(0, at);
  const rawDomain = value.slice(at + 1);
  const domain = domainAliases[rawDomain] ?? rawDomain;
  if (plusTagDomains.has(domain)) local = local.split('+')[0] ?? local;
  if (dotInsensitiveDomains.has(domain)) local = local.replaceAll('.', '');
  return local.length > 0 ? `${local}@${domain}` : null;
}
