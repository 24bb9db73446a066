import { createHash } from 'node:crypto';

/**
 * The 100-ns ticks (0–9,999) a .NET CRM writes below the millisecond of a record's timestamp (Reapit, Alto: 7
 * fractional digits). Whether real stamps carry non-zero ticks is not documented (ASSUMPTION either way).
 */
export type SubMillisecondTicks = (id: string, ms: number) => number;

/** Every stamp ends `…0000` below the millisecond: the simulators' default. */
export const noTicks: SubMillisecondTicks = () => 0;

/**
 * A stable digest of the record's id and time: the records of one millisecond carry ticks in no order of their
 * ids or of when they were saved, as a listing ordered by the millisecond alone shows them.
 */
export const digestTicks: SubMillisecondTicks = (id, ms) =>
  createHash('sha1').update(`${id}@${ms}`).digest().readUInt16BE(0) % 10_000;

/** `ms` as ISO-8601 with 7 fractional digits, the last four `ticks`, before `zone` (`Z`, `+00:00`). */
export const sevenDigitStamp = (ms: number, ticks: number, zone: string): string =>
  new Date(ms).toISOString().replace(/Z$/, `${String(ticks).padStart(4, '0')}${zone}`);
