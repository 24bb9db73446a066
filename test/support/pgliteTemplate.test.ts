import { mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { describe, expect, it, test } from 'vitest';
import { PGLITE_TEMPLATE, pgliteTemplates, publishComplete } from './pgliteTemplate.ts';
import { tempDirs } from './tempDirs.ts';

const tempDir = tempDirs('crm-sync-template-');

/** A `make` that writes two files and counts its builds; `gate` holds it after the first file. */
function maker(gate?: Promise<void>) {
  const made = { builds: 0 };
  const make = async (dir: string) => {
    made.builds += 1;
    mkdirSync(path.join(dir, 'sub'), { recursive: true });
    writeFileSync(path.join(dir, 'a'), 'a whole file');
    await gate;
    writeFileSync(path.join(dir, 'sub', 'b'), 'another');
  };
  return { made, make };
}

const contents = (data: string) => [
  readFileSync(path.join(data, 'a'), 'utf8'),
  readFileSync(path.join(data, 'sub', 'b'), 'utf8'),
];

describe('publishComplete', () => {
  it('builds once; a later look, as another worker takes, uses the publication', async () => {
    const root = tempDir();
    const { made, make } = maker();
    const first = await publishComplete(root, 't', make);
    expect(await publishComplete(root, 't', make)).toBe(first);
    expect(made.builds).toBe(1);
    expect(contents(first)).toEqual(['a whole file', 'another']);
    expect(readdirSync(root)).toEqual(['t.0']);
  });

  // A crash before the data was flushed, a temp cleaner, or an older cache at the same name: none is a whole one.
  test.each([
    ['left without its marker', (p: string) => rmSync(path.join(p, 'complete.json'))],
    ['missing a file', (p: string) => rmSync(path.join(p, 'data', 'sub', 'b'))],
    ['with a file cut short', (p: string) => truncateSync(path.join(p, 'data', 'a'), 3)],
    ['with an unreadable marker', (p: string) => writeFileSync(path.join(p, 'complete.json'), '{"a":')],
  ])('a publication %s is not used: the next generation is built', async (_case, breakIt) => {
    const root = tempDir();
    await publishComplete(root, 't', maker().make);
    breakIt(path.join(root, 't.0'));
    const { made, make } = maker();
    const rebuilt = await publishComplete(root, 't', make);
    expect(rebuilt).toBe(path.join(root, 't.1', 'data'));
    expect(made.builds).toBe(1);
    expect(contents(rebuilt)).toEqual(['a whole file', 'another']);
    // The broken one is left where it is: a worker may be reading it on the strength of an earlier look.
    expect(readdirSync(root).sort()).toEqual(['t.0', 't.1']);
  });

  it('workers building at once share the first publication, and leave nothing else behind', async () => {
    const root = tempDir();
    let release = () => {};
    const slow = maker(new Promise<void>((resolve) => (release = resolve)));
    const quick = maker();
    const slowDone = publishComplete(root, 't', slow.make);
    const quickDone = await publishComplete(root, 't', quick.make);
    release();
    expect(await slowDone).toBe(quickDone);
    expect([slow.made.builds, quick.made.builds]).toEqual([1, 1]);
    expect(contents(quickDone)).toEqual(['a whole file', 'another']);
    expect(readdirSync(root)).toEqual(['t.0']);
  });

  it('a build that fails publishes nothing, and the next look builds again', async () => {
    const root = tempDir();
    const failing = async (dir: string) => {
      mkdirSync(dir);
      writeFileSync(path.join(dir, 'a'), 'half');
      throw new Error('disk full');
    };
    await expect(publishComplete(root, 't', failing)).rejects.toThrow('disk full');
    expect(readdirSync(root)).toEqual([]);
    expect(contents(await publishComplete(root, 't', maker().make))).toEqual(['a whole file', 'another']);
  });
});

describe('PGlite templates', () => {
  it('a cluster left half-written in the cache is rebuilt: fresh databases open and answer', async () => {
    const root = tempDir();
    // As an interrupted copy would leave it: the cluster's first file and nothing else.
    mkdirSync(path.join(root, `${PGLITE_TEMPLATE}.0`, 'data'), { recursive: true });
    writeFileSync(path.join(root, `${PGLITE_TEMPLATE}.0`, 'data', 'PG_VERSION'), '17\n');
    const templates = pgliteTemplates(root);
    const opened = [
      await PGlite.create(await templates.freshPgliteDir(path.join(tempDir(), 'db'))),
      await templates.freshMemoryPglite(),
    ];
    try {
      for (const db of opened)
        expect((await db.query('select 41 + 1 as answer')).rows).toEqual([{ answer: 42 }]);
    } finally {
      for (const db of opened) await db.close();
    }
  }, 120_000);
});
