import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateUkContacts } from '../../../test/fixtures/ukContacts.ts';
import { toMatchRecord } from './matchRecord.ts';
import { MATCH_RECORD_VERSION, readStoredMatchRecord, storeMatchRecord } from './storedMatchRecord.ts';

const devSet = generateUkContacts({ seed: 7, people: 400 });

describe('stored match records', () => {
  it('read back equal to the record they were stored from', () => {
    for (const row of devSet) {
      const record = toMatchRecord(row.id, row.fields);
      expect(readStoredMatchRecord(row.id, storeMatchRecord(record))).toEqual(record);
    }
  });

  it('are not trusted when missing, of another version or unreadable', () => {
    const stored = storeMatchRecord(toMatchRecord('a', { firstName: 'Ann', email: 'ann@example.com' }));
    const otherVersion = stored.replace(`"v":${MATCH_RECORD_VERSION}`, `"v":${MATCH_RECORD_VERSION + 1}`);
    expect(otherVersion).not.toBe(stored);
    expect(readStoredMatchRecord('a', otherVersion)).toBeNull();
    expect(readStoredMatchRecord('a', null)).toBeNull();
    expect(readStoredMatchRecord('a', '{"v":1')).toBeNull();
    expect(readStoredMatchRecord('a', stored.replace('"email"', '"mail"'))).toBeNull();
  });

  // Stored records outlive the code that wrote them. When this fails, normalisation changed: bump
  // MATCH_RECORD_VERSION (so records stored before are normalised again from their documents), then pin the new
  // digest here.
  it('pins what this version normalises', () => {
    const digest = createHash('sha256');
    for (const row of devSet) digest.update(`${storeMatchRecord(toMatchRecord(row.id, row.fields))}\n`);
    expect({ version: MATCH_RECORD_VERSION, rows: devSet.length, digest: digest.digest('hex') }).toEqual({
      version: 5,
      rows: devSet.length,
      digest: 'd0f4d836901fbb7374cad381ebe2b32b7cfec7a272a6d780609d2f93b50fbaf6',
    });
  });
});
