import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createSecretBox, KEY_FILE_NAME, loadSecretBox } from './secrets.ts';

const dirs: string[] = [];
const tempDir = () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'crm-sync-secrets-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('secret box', () => {
  it('round-trips and refuses another row’s context or another key', () => {
    const box = createSecretBox(randomBytes(32));
    const sealed = box.encrypt('{"token":"t"}', 'connection:a:1');
    expect(sealed).not.toContain('token');
    expect(box.decrypt(sealed, 'connection:a:1')).toEqual({ ok: true, value: '{"token":"t"}' });
    expect(box.decrypt(sealed, 'connection:b:1')).toMatchObject({
      ok: false,
      error: { kind: 'decrypt_failed' },
    });
    expect(createSecretBox(randomBytes(32)).decrypt(sealed, 'connection:a:1').ok).toBe(false);
  });

  it('generates a 0600 key file once, says so once, and reuses it', async () => {
    const dataDir = tempDir();
    const notices: string[] = [];
    const first = await loadSecretBox({ secretKey: undefined, dataDir, notice: (m) => notices.push(m) });
    const second = await loadSecretBox({ secretKey: undefined, dataDir, notice: (m) => notices.push(m) });
    expect(statSync(path.join(dataDir, KEY_FILE_NAME)).mode & 0o777).toBe(0o600);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toContain(path.join(dataDir, KEY_FILE_NAME));
    if (!first.ok || !second.ok) throw new Error('expected keys');
    expect(second.value.decrypt(first.value.encrypt('x', 'c'), 'c')).toEqual({ ok: true, value: 'x' });
  });

  it('refuses a key file other users can read', async () => {
    const dataDir = tempDir();
    await loadSecretBox({ secretKey: undefined, dataDir, notice: () => {} });
    chmodSync(path.join(dataDir, KEY_FILE_NAME), 0o644);
    const loaded = await loadSecretBox({ secretKey: undefined, dataDir, notice: () => {} });
    expect(loaded).toMatchObject({ ok: false, error: { kind: 'secret_key_invalid' } });
  });
});
