import { describe, expect, it } from 'vitest';
import { parseEnv } from './env.ts';

describe('parseEnv', () => {
  it('applies defaults and treats empty strings as unset', () => {
    const parsed = parseEnv({ PORT: '', HOME: '/root' });
    expect(parsed).toMatchObject({
      ok: true,
      value: { CRM_SYNC_DATA_DIR: './.crm-sync', PORT: 3000, LOG_LEVEL: 'info' },
    });
    if (parsed.ok) expect(parsed.value.DATABASE_URL).toBeUndefined();
  });

  it('lists every bad variable at once, without echoing values', () => {
    const parsed = parseEnv({
      PORT: 'eighty',
      DATABASE_URL: 'mysql://u:secretpw@h/db',
      CRM_SYNC_SECRET_KEY: 'too-short',
      LOG_LEVEL: 'loud',
    });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error.problems.map((p) => p.split(':')[0]).sort()).toEqual([
      'CRM_SYNC_SECRET_KEY',
      'DATABASE_URL',
      'LOG_LEVEL',
      'PORT',
    ]);
    expect(parsed.error.message).not.toContain('secretpw');
  });

  it('refuses a PORT that is not a port number in words, quoting it (no secret), beside the other bad variables', () => {
    for (const port of ['x', '0', '65536', '80.5', '0x50', '1e3', ' 80', '-1', 'a\nb']) {
      const parsed = parseEnv({ PORT: port, LOG_LEVEL: 'loud' });
      expect(parsed.ok, port).toBe(false);
      if (parsed.ok) continue;
      expect(parsed.error.problems[0]).toBe(
        `PORT: expected a port number from 1 to 65535, got ${JSON.stringify(port)}`,
      );
      expect(parsed.error.problems).toHaveLength(2);
      expect(parsed.error.message).not.toContain('\n');
    }
    expect(parseEnv({ PORT: 'x' })).toMatchObject({
      ok: false,
      error: { message: 'invalid environment: PORT: expected a port number from 1 to 65535, got "x"' },
    });
    for (const [text, port] of [
      ['1', 1],
      ['8080', 8080],
      ['65535', 65_535],
    ] as const)
      expect(parseEnv({ PORT: text }), text).toMatchObject({ ok: true, value: { PORT: port } });
  });

  // A space ends the header's word; above U+00FF fetch cannot send it ("Cannot convert argument to a ByteString");
  // curl refuses a Latin-1 letter such as `ö`; a control character breaks the header line.
  it.each([
    ['a space', 'with space inside token'],
    ['a tab', 'tab\tinside-token-xxxxx'],
    ['a leading space', ' leading-space-inside-x'],
    ['a character above U+00FF', 'inside-token-\u20ac\u20ac\u20ac\u20ac'],
    ['a Latin-1 letter', 'inside-t\u00f6ken-xxxxxxxx'],
    ['a no-break space', 'inside-token\u00a0xxxxxxxx'],
    ['a control character', 'inside-token-\u0007xxxxxxx'],
  ])('refuses an admin token with %s, no client could present, without echoing it', (_, token) => {
    const parsed = parseEnv({ CRM_SYNC_ADMIN_TOKEN: token });
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error.problems).toEqual([
      'CRM_SYNC_ADMIN_TOKEN: expected printable ASCII only (letters, digits and punctuation, ! to ~): no spaces, tabs or accented letters',
    ]);
    expect(parsed.error.message).not.toContain('inside');
  });

  it('takes an admin token of 16 printable ASCII characters or more', () => {
    expect(parseEnv({ CRM_SYNC_ADMIN_TOKEN: 'a-long-enough-token-0123' }).ok).toBe(true);
    expect(parseEnv({ CRM_SYNC_ADMIN_TOKEN: '!"#$%&\'()*+,-./09:;<=>?@AZ[\\]^_`az{|}~' }).ok).toBe(true);
    expect(parseEnv({ CRM_SYNC_ADMIN_TOKEN: 'x'.repeat(16) }).ok).toBe(true);
    expect(parseEnv({ CRM_SYNC_ADMIN_TOKEN: 'x'.repeat(15) })).toMatchObject({
      ok: false,
      error: { problems: ['CRM_SYNC_ADMIN_TOKEN: expected at least 16 characters'] },
    });
  });

  it('refuses an Inngest signing key the SDK would read wrongly, without echoing it', () => {
    for (const key of [
      `signkey-prod-${'ab'.repeat(32)}x`,
      'signkey-prod-',
      `${'ab'.repeat(32)} `,
      'sk_live_secret1',
    ]) {
      const parsed = parseEnv({ INNGEST_SIGNING_KEY: key });
      expect(parsed.ok, key).toBe(false);
      if (parsed.ok) continue;
      expect(parsed.error.problems).toEqual([
        'INNGEST_SIGNING_KEY: expected signkey-<env>- and hex digits, as Inngest shows it',
      ]);
      expect(parsed.error.message).not.toContain('abab');
    }
    for (const key of [
      `signkey-prod-${'ab'.repeat(32)}`,
      `signkey-branch-${'CD'.repeat(32)}`,
      'ab'.repeat(32),
    ])
      expect(parseEnv({ INNGEST_SIGNING_KEY: key }).ok, key).toBe(true);
  });

  // `new URL` takes `localhost:8288` as a URL of scheme `localhost:`: the environment check passed it, then serve
  // died on the SDK's `TypeError: Invalid URL` with a stack trace and exit 1, not this refusal and exit 2.
  it("refuses an INNGEST_DEV or INNGEST_BASE_URL the Inngest client cannot use, in the environment's one line", () => {
    for (const dev of ['localhost:8288', '127.0.0.1:8288', 'ftp://localhost:8288', 'yes', 'TRUE', '1 ']) {
      const parsed = parseEnv({ INNGEST_DEV: dev, INNGEST_BASE_URL: 'localhost:8288' });
      expect(parsed.ok, dev).toBe(false);
      if (parsed.ok) continue;
      expect(parsed.error.problems).toEqual([
        "INNGEST_DEV: expected 1, true, 0, false or the dev server's http(s) URL",
        'INNGEST_BASE_URL: expected an http(s) URL',
      ]);
    }
    for (const dev of ['1', 'true', '0', 'false', 'http://localhost:8288', 'https://inngest.internal:8288/'])
      expect(parseEnv({ INNGEST_DEV: dev }), dev).toMatchObject({ ok: true, value: { INNGEST_DEV: dev } });
    expect(parseEnv({ INNGEST_BASE_URL: 'https://inngest.internal' }).ok).toBe(true);
  });

  it('accepts a 32-byte key as hex or base64', () => {
    const hex = 'ab'.repeat(32);
    const base64 = Buffer.alloc(32, 7).toString('base64');
    expect(parseEnv({ CRM_SYNC_SECRET_KEY: hex }).ok).toBe(true);
    expect(parseEnv({ CRM_SYNC_SECRET_KEY: base64 }).ok).toBe(true);
  });
});
