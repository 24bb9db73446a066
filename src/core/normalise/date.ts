/**
 * A date of birth as ISO `yyyy-mm-dd`, read from ISO, `dd/mm/yyyy`, `d/m/yyyy` (also with `-` or `.`) or
 * `yyyymmdd`. UK order (day first) for slashed dates, as UK CRMs export them. Impossible dates give null.
 */
export function normaliseDate(raw: string | null | undefined): string | null {
  const parts = dateParts(raw);
  return parts && isPossible(parts) ? isoText(parts) : null;
}

/**
 * An impossible date in one of those shapes (`31/02/1983`, `1859-05-73`) as ISO-shaped text, or null: not a date,
 * but a slip of the keyboard in one, kept so it can still be recognised as a typo of the real date.
 */
export function impossibleDateText(raw: string | null | undefined): string | null {
  const parts = dateParts(raw);
  return parts && !isPossible(parts) ? isoText(parts) : null;
}

interface DateParts {
  readonly year: string;
  readonly month: number;
  readonly day: number;
}

function dateParts(raw: string | null | undefined): DateParts | null {
  const value = raw?.trim() ?? '';
  const match =
    /^(\d{4})-(\d{1,2})-(\d{1,2})(?:$|[T ])/.exec(value) ??
    /^(\d{4})(\d{2})(\d{2})$/.exec(value) ??
    dayFirst(/^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(value));
  if (!match) return null;
  return { year: match[1] ?? '', month: Number(match[2]), day: Number(match[3]) };
}

/** A day-first match reordered to year, month, day. */
const dayFirst = (match: RegExpExecArray | null): (string | undefined)[] | null =>
  match ? [match[0], match[3], match[2], match[1]] : null;

function isPossible({ year, month, day }: DateParts): boolean {
  return month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth(Number(year), month);
}

const isoText = ({ year, month, day }: DateParts): string =>
  `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return [4, 6, 9, 11].includes(month) ? 30 : 31;
}
