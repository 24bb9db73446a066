/**
 * A date of birth as ISO `yyyy-mm-dd`, read from ISO, `dd/mm/yyyy`, `d/m/yyyy` (also with `-` or `.`) or
 * `yyyymmdd`. UK order (day first) for slashed dates, as UK CRMs export them. Impossible dates give null.
 */
export function normaliseDate(raw: string | null | undefined): string | null {
  const value = raw?.trim() ?? '';
  const iso = /^(\d{4})-(\d{1,2})-(\d{1,2})(?:$|[T ])/.exec(value);
  if (iso) return isoDate(iso[1], iso[2], iso[3]);
  const dayFirst = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(value);
  if (dayFirst) return isoDate(dayFirst[3], dayFirst[2], dayFirst[1]);
  const compact = /^(\d{4})(\d{2})(\d{2})$/.exec(value);
  if (compact) return isoDate(compact[1], compact[2], compact[3]);
  return null;
}

function isoDate(year = '', month = '', day = ''): string | null {
  const y = Number(year);
  const m = Number(month);
  const d = Number(day);
  if (m < 1 || m > 12 || d < 1 || d > daysInMonth(y, m)) return null;
  return `${year}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}
