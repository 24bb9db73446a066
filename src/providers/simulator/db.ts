import { createHash } from 'node:crypto';
import {
  createRandom,
  generateContact,
  generateContacts,
  type SeedContact,
  type SeededContact,
} from './generator.ts';

/** How one simulator renders seed contacts in its wire shape and reads them back. */
export interface SimDialect<TWire> {
  /** The id of the n-th record ever created (1-based), in the provider's id style. */
  newId(n: number): string;
  fromSeed(contact: SeedContact, id: string, createdMs: number, modifiedMs: number): TWire;
  /** The seed view of a record, so agency-style edits start from its current state. */
  toSeed(record: TWire): SeedContact;
  /** `record` with its contact fields replaced from `contact` and `modified` set; other fields kept. */
  withSeed(record: TWire, contact: SeedContact, modifiedMs: number): TWire;
  /** `record` broken so the provider's documented schema rejects it (id and modified stay readable). */
  malformed(record: TWire): TWire;
  id(record: TWire): string;
  modified(record: TWire): string;
}

export interface SimDbOptions {
  /** Seeded contacts. Default 200. */
  contacts?: number | undefined;
  /** Generator seed. Default 1. */
  seed?: number | undefined;
  /** How many seeded records share one `modified` value, placed mid-range. Default 0. */
  sameModified?: number | undefined;
  /** How many seeded records are made malformed (deterministic picks). Default 0. */
  malformed?: number | undefined;
  /**
   * How many seeded surnames carry a NUL character (U+0000), as text pasted from a broken export can: valid JSON
   * that PostgreSQL cannot store. Deterministic picks. Default 0.
   */
  unstorable?: number | undefined;
  /**
   * Whether records sharing a `modified` value are served in id order (default, the simulators' ASSUMPTION).
   * `false` serves them in a stable order unrelated to their ids, as a database sorting on the timestamp alone
   * may: no CRM documents a tie-break, so a client must not rely on one.
   */
  tiesById?: boolean | undefined;
  /**
   * How long a record made through the API's create stays out of listings, searches and single GETs, in ms: a CRM
   * that applies creates asynchronously (Reapit: "often asynchronous" [R1]). The record exists from the start
   * (`listAll`, the control API's view) and keeps the `created`/`modified` stamped when it was sent. Default 0.
   */
  createVisibleAfterMs?: number | undefined;
}

/** The record store of one simulator (or the fake): wire records kept in (modified, id) order. */
export class SimDb<TWire> {
  private readonly records = new Map<string, TWire>();
  /** Every record in (modified, id) order with its `modified` in ms, kept until the next write. */
  private ordered: { records: TWire[]; modifiedMs: number[] } | null = null;
  private created = 0;
  private lastStampMs = 0;
  private readonly tiesById: boolean;
  private readonly createVisibleAfterMs: number;
  /** Records created through the API that the CRM does not show yet, with the instant (ms) they appear. */
  private readonly hiddenUntil = new Map<string, number>();

  constructor(
    readonly dialect: SimDialect<TWire>,
    options: SimDbOptions,
    private readonly now: () => number = Date.now,
  ) {
    this.tiesById = options.tiesById ?? true;
    this.createVisibleAfterMs = options.createVisibleAfterMs ?? 0;
    const seeded = generateContacts({
      count: options.contacts ?? 200,
      seed: options.seed ?? 1,
      ...(options.sameModified === undefined ? {} : { sameModified: options.sameModified }),
    });
    const withNul = Math.min(options.unstorable ?? 0, seeded.length);
    for (let k = 0; k < withNul; k++) {
      const picked = seeded[Math.floor(((k + 0.25) * seeded.length) / withNul)] as SeededContact;
      const { lastName } = picked.contact;
      picked.contact = { ...picked.contact, lastName: `${lastName.slice(0, 1)}\u0000${lastName.slice(1)}` };
    }
    for (const s of seeded) this.insert((id) => dialect.fromSeed(s.contact, id, s.createdMs, s.modifiedMs));
    const ids = [...this.records.keys()];
    const bad = Math.min(options.malformed ?? 0, ids.length);
    for (let k = 0; k < bad; k++) {
      const id = ids[Math.floor(((k + 0.5) * ids.length) / bad)] as string;
      this.put(dialect.malformed(this.records.get(id) as TWire));
    }
  }

  /**
   * Every record the CRM shows, in (modified, tie key) order. ASSUMPTION for every simulator: ties on `modified`
   * sort by id (the tie key) unless `tiesById` is false.
   */
  list(): TWire[] {
    return this.order().records.slice();
  }

  /** Every record held, those not shown yet included (`createVisibleAfterMs`), in (modified, tie key) order. */
  listAll(): TWire[] {
    if (this.hiddenUntil.size === 0) return this.list();
    return this.sorted([...this.records.values()]).records;
  }

  /**
   * The records whose `modified` lies between the bounds (null: open), in (modified, id) order; a bound is
   * inclusive unless marked exclusive.
   */
  modifiedBetween(
    fromMs: number | null,
    toMs: number | null,
    exclusive: { from?: boolean; to?: boolean } = {},
  ): TWire[] {
    const range = this.modifiedRange(fromMs, toMs, exclusive);
    return range.slice(0, range.count);
  }

  /**
   * `modifiedBetween` as a count and slices of it. Found by binary search and sliced only where asked, so a page
   * of a large listing does not cost a pass over every record (a CRM serves it from an index).
   */
  modifiedRange(
    fromMs: number | null,
    toMs: number | null,
    exclusive: { from?: boolean; to?: boolean } = {},
  ): { count: number; slice(start: number, end: number): TWire[] } {
    const { records, modifiedMs } = this.order();
    const first =
      fromMs === null ? 0 : firstIndex(modifiedMs, (ms) => (exclusive.from ? ms > fromMs : ms >= fromMs));
    const last =
      toMs === null
        ? records.length
        : firstIndex(modifiedMs, (ms) => (exclusive.to ? ms >= toMs : ms > toMs));
    const count = Math.max(0, last - first);
    return {
      count,
      slice: (start, end) => records.slice(first + start, first + Math.min(end, count)),
    };
  }

  private order(): { records: TWire[]; modifiedMs: number[] } {
    this.revealDue();
    if (this.ordered !== null) return this.ordered;
    const shown = [...this.records.values()].filter((r) => !this.hiddenUntil.has(this.dialect.id(r)));
    this.ordered = this.sorted(shown);
    return this.ordered;
  }

  private sorted(records: TWire[]): { records: TWire[]; modifiedMs: number[] } {
    const d = this.dialect;
    const keyed = records.map((record) => ({
      record,
      ms: Date.parse(d.modified(record)),
      id: this.tieKey(d.id(record)),
    }));
    keyed.sort((a, b) => a.ms - b.ms || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return { records: keyed.map((k) => k.record), modifiedMs: keyed.map((k) => k.ms) };
  }

  /** Shows the created records whose time has come. */
  private revealDue(): void {
    if (this.hiddenUntil.size === 0) return;
    const now = this.now();
    for (const [id, visibleAtMs] of this.hiddenUntil) {
      if (visibleAtMs > now) continue;
      this.hiddenUntil.delete(id);
      this.ordered = null;
    }
  }

  /** What orders records sharing a `modified` value: the id, or a stable digest of it (`tiesById: false`). */
  tieKey(id: string): string {
    return this.tiesById ? id : `${createHash('sha1').update(id).digest('hex')}:${id}`;
  }

  /** The record if the CRM shows it. */
  get(id: string): TWire | undefined {
    this.revealDue();
    return this.hiddenUntil.has(id) ? undefined : this.records.get(id);
  }

  put(record: TWire): void {
    this.records.set(this.dialect.id(record), record);
    this.ordered = null;
  }

  /**
   * Deletes records outright, as an agency user deleting a contact (or the loser of a merge) does: no longer
   * listed, found or served, and its id never handed out again. Returns the ids it held.
   */
  remove(ids: readonly string[]): string[] {
    const removed = ids.filter((id) => this.records.delete(id));
    for (const id of removed) this.hiddenUntil.delete(id);
    if (removed.length > 0) this.ordered = null;
    return removed;
  }

  /** Adds a record built by `build` from a fresh id. */
  insert(build: (id: string) => TWire): TWire {
    this.created += 1;
    const record = build(this.dialect.newId(this.created));
    this.put(record);
    return record;
  }

  /**
   * Adds a record the API was asked to create: like `insert`, but kept out of view for `createVisibleAfterMs`
   * (a CRM that finishes creates in the background).
   */
  insertCreated(build: (id: string) => TWire): TWire {
    const record = this.insert(build);
    if (this.createVisibleAfterMs > 0) {
      this.hiddenUntil.set(this.dialect.id(record), this.now() + this.createVisibleAfterMs);
      this.ordered = null;
    }
    return record;
  }

  /** A server timestamp: now, never before the last one handed out (equal values are allowed). */
  stamp(): number {
    this.lastStampMs = Math.max(this.lastStampMs, this.now());
    return this.lastStampMs;
  }

  /**
   * `count` edits as agency users would make them, deterministic for a seed: mostly single-field changes,
   * about 10% creates and 8% archives. By default all edits of one call share one `modified` value (a bulk save);
   * `apart` saves them one by one, each on its own millisecond up to now (the last `count` milliseconds, or fewer
   * where the last stamp handed out is closer: those share its value), as users editing records in turn do.
   */
  applyEdits(params: { count: number; seed: number; apart?: boolean | undefined }): string[] {
    const r = createRandom(params.seed);
    const handedOut = this.lastStampMs;
    const last = this.stamp();
    const stampOf = (i: number) =>
      params.apart === true ? Math.max(handedOut, last - (params.count - 1 - i)) : last;
    this.revealDue();
    // Agency users edit what the CRM shows them.
    const ids = [...this.records.keys()].filter((id) => !this.hiddenUntil.has(id)).sort();
    const changed: string[] = [];
    for (let i = 0; i < params.count; i++) {
      const roll = r.next();
      const target = ids.length > 0 ? this.records.get(r.pick(ids)) : undefined;
      const at = stampOf(i);
      if (roll < 0.1 || target === undefined) {
        const created = this.insert((id) => this.dialect.fromSeed(generateContact(r), id, at, at));
        changed.push(this.dialect.id(created));
        continue;
      }
      const before = this.dialect.toSeed(target);
      const after = roll < 0.18 ? { ...before, archived: true } : changeOneField(r, before);
      this.put(this.dialect.withSeed(target, after, at));
      changed.push(this.dialect.id(target));
    }
    return [...new Set(changed)];
  }
}

function changeOneField(r: ReturnType<typeof createRandom>, contact: SeedContact): SeedContact {
  const fresh = generateContact(r);
  switch (r.int(0, 5)) {
    case 0:
      // A surname with spaces (`Lead lead1`, `de la Cruz`) would make an address no CRM user could type.
      return {
        ...contact,
        email: fresh.email ?? `${contact.lastName.replace(/\s+/g, '').toLowerCase()}@example.co.uk`,
      };
    case 1:
      return { ...contact, mobilePhone: fresh.mobilePhone ?? '07700 900001' };
    case 2:
      return { ...contact, lastName: fresh.lastName };
    case 3:
      return { ...contact, address: fresh.address };
    case 4:
      return { ...contact, marketingConsent: contact.marketingConsent === 'grant' ? 'deny' : 'grant' };
    default:
      return { ...contact, homePhone: fresh.homePhone ?? '0161 496 0001' };
  }
}

/** The first index whose value satisfies `past` (which must be false then true along `sorted`), else its length. */
function firstIndex(sorted: readonly number[], past: (value: number) => boolean): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (past(sorted[mid] as number)) high = mid;
    else low = mid + 1;
  }
  return low;
}
