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

  it('refuses a sealed value whose tag or nonce is not the length it writes', () => {
    const box = createSecretBox(randomBytes(32));
    const [version, iv, tag, body] = box.encrypt('{"apiKey":"k"}', 'connection:t:c').split(':') as [
      string,
      string,
      string,
      string,
    ];
    const cut = (part: string, bytes: number) =>
      Buffer.from(part, 'base64').subarray(0, bytes).toString('base64');
    for (const sealed of [
      [version, iv, cut(tag, 4), body],
      [version, iv, cut(tag, 12), body],
      [version, cut(iv, 8), tag, body],
    ]) {
      expect(box.decrypt(sealed.join(':'), 'connection:t:c')).toEqual({
        ok: false,
        error: { kind: 'decrypt_failed', message: 'stored credentials are not in a known format' },
      });
    }
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

  it('names the key it holds when that is not the key the credentials were sealed with', async () => {
    const sealedWith = await loadSecretBox({ secretKey: undefined, dataDir: tempDir(), notice: () => {} });
    if (!sealedWith.ok) throw new Error('expected a key');
    const sealed = sealedWith.value.encrypt('{"apiKey":"k"}', 'connection:a:1');
    // The key file lost (a data directory restored without it): a new one is generated beside the old credentials.
    const dataDir = tempDir();
    const fromFile = await loadSecretBox({ secretKey: undefined, dataDir, notice: () => {} });
    const fromEnv = await loadSecretBox({
      secretKey: randomBytes(32).toString('hex'),
      dataDir,
      notice: () => {},
    });
    if (!fromFile.ok || !fromEnv.ok) throw new Error('expected keys');
    const fileFailure = fromFile.value.decrypt(sealed, 'connection:a:1');
    expect(fileFailure).toMatchObject({ ok: false, error: { kind: 'decrypt_failed' } });
    if (!fileFailure.ok) {
      expect(fileFailure.error.message).toContain(path.join(dataDir, KEY_FILE_NAME));
      expect(fileFailure.error.message).not.toContain('CRM_SYNC_SECRET_KEY');
    }
    const envFailure = fromEnv.value.decrypt(sealed, 'connection:a:1');
    if (envFailure.ok) throw new Error('expected a failure');
    expect(envFailure.error.message).toContain('CRM_SYNC_SECRET_KEY');
  });

  it('refuses a key file other users can read', async () => {
    const dataDir = tempDir();
    await loadSecretBox({ secretKey: undefined, dataDir, notice: () => {} });
    chmodSync(path.join(dataDir, KEY_FILE_NAME), 0o644);
    const loaded = await loadSecretBox({ secretKey: undefined, dataDir, notice: () => {} });
    expect(loaded).toMatchObject({ ok: false, error: { kind: 'secret_key_invalid' } });
  });
});
