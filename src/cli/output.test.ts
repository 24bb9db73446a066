import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { clip, formatTable, printJsonStreamed, shellWord, showControls } from './output.ts';

/** Keeps what is written to stdout from now on, call by call, instead of writing it. */
function captureStdout(): string[] {
  const writes: string[] = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    writes.push(String(chunk));
    return true;
  });
  return writes;
}

async function* pages<T>(...list: T[][]): AsyncGenerator<T[]> {
  yield* list;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('printJsonStreamed', () => {
  it.each([
    ['an empty array', []],
    ['an empty object', {}],
    ['scalars', [1, 'two', null, true, -0.5]],
    [
      'nested values, a Date, undefined and a function',
      {
        a: { b: [1, { c: [] }], d: {} },
        at: new Date('2025-06-01T10:00:00Z'),
        gone: undefined,
        fn: () => 1,
        list: [undefined, 'x'],
        text: 'line\nbreak "quoted"',
      },
    ],
  ])('writes %s as JSON.stringify(value, null, 2) does', async (_, value) => {
    const writes = captureStdout();
    await printJsonStreamed(value);
    expect(writes.join('')).toBe(`${JSON.stringify(value, null, 2)}\n`);
  });

  it('writes each async iterable as one array of its pages’ items, asking for a page once the last is out', async () => {
    const items = Array.from({ length: 5 }, (_, n) => ({ n, nested: { list: [n] } }));
    const writes = captureStdout();
    const seenBeforePage: number[] = [];
    async function* lazyPages() {
      for (const page of [items.slice(0, 2), [], items.slice(2)]) {
        seenBeforePage.push(writes.join('').split('"n":').length - 1);
        yield page;
      }
    }
    await printJsonStreamed([{ id: 1, items: lazyPages(), empty: pages(), after: 'x' }]);

    const expected = [{ id: 1, items, empty: [], after: 'x' }];
    expect(writes.join('')).toBe(`${JSON.stringify(expected, null, 2)}\n`);
    expect(seenBeforePage).toEqual([0, 2, 2]);
  });
});

describe('formatTable', () => {
  it('pads by terminal columns: wide CJK and emoji take two, a combining accent none', () => {
    const rows = [
      { name: 'Harbour Lettings', contacts: 12 },
      { name: '東京不動産', contacts: 3 },
      { name: 'Casa 🏠', contacts: 140 },
      { name: 'E\u0301cole', contacts: 7 },
    ];
    const table = formatTable(
      [
        { header: 'name', cell: (r: (typeof rows)[number]) => r.name },
        { header: 'contacts', cell: (r: (typeof rows)[number]) => String(r.contacts), alignRight: true },
      ],
      rows,
    );
    expect(table).toBe(
      [
        'NAME              CONTACTS',
        'Harbour Lettings        12',
        '東京不動産               3',
        'Casa 🏠                140',
        'E\u0301cole                    7',
        '',
      ].join('\n'),
    );
  });
});

/** What the audit PATCHed as a contact's first name: retitles the terminal, clears it, turns the text red. */
const EVIL_NAME = '\u001b]0;pwned\u0007\u001b[2J\u001b[31mEVIL';
const SHOWN_EVIL_NAME = '\\u001b]0;pwned\\u0007\\u001b[2J\\u001b[31mEVIL';

describe('control characters in human output', () => {
  it('shows C0, DEL and C1 controls as \\u escapes, and leaves other text alone', () => {
    expect(showControls(EVIL_NAME)).toBe(SHOWN_EVIL_NAME);
    expect(showControls('\u0000\u001f\u007f\u0080\u009b\u009f')).toBe(
      '\\u0000\\u001f\\u007f\\u0080\\u009b\\u009f',
    );
    expect(showControls('Zoë 東京 \u00a0 \\ ~')).toBe('Zoë 東京 \u00a0 \\ ~');
  });

  it('writes no control character into a table cell, and pads by what is shown', () => {
    const table = formatTable(
      [
        { header: 'name', cell: (r: { name: string }) => r.name },
        { header: 'n', cell: () => '1' },
      ],
      [{ name: EVIL_NAME }, { name: 'csi \u009b2J' }],
    );
    expect(table).toBe(
      [
        `NAME${' '.repeat(SHOWN_EVIL_NAME.length - 4)}  N`,
        `${SHOWN_EVIL_NAME}  1`,
        `csi \\u009b2J${' '.repeat(SHOWN_EVIL_NAME.length - 12)}  1`,
        '',
      ].join('\n'),
    );
  });

  it('clips control characters shown, never cutting an escape in half', () => {
    expect(clip(EVIL_NAME, 80)).toBe(SHOWN_EVIL_NAME);
    expect(clip('ab\u001bcd', 6)).toBe('ab…');
    expect(clip('ab\u001bcd', 9)).toBe('ab\\u001b…');
    expect(clip('a\nb\tc', 10)).toBe('a b c');
  });
});

describe('shellWord', () => {
  it('gives back what a shell reads as the same one word', () => {
    const names = ['acme', 'Smith & Co', '<img src=x> & "quotes"', "O'Brien Lettings", '$(rm -rf ~)', 'Zoë'];
    for (const name of names) {
      const echoed = spawnSync('sh', ['-c', `printf %s ${shellWord(name)}`], { encoding: 'utf8' });
      expect(echoed.stdout).toBe(name);
    }
    expect(shellWord('acme-lettings')).toBe('acme-lettings');
  });
});
