import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { chmod, mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { decodeSecretKey } from '../config/env.ts';
import { err, ok, type Result } from '../core/result.ts';
import { placeWhole } from './wholeFile.ts';

const VERSION = 'v1';
const IV_BYTES = 12;
/** GCM's full tag: the length `encrypt` writes, the only one `decrypt` takes. */
const TAG_BYTES = 16;
/** Name of the generated key file inside the data directory. */
export const KEY_FILE_NAME = 'secret.key';

export type SecretError =
  | { kind: 'secret_key_missing'; message: string }
  | { kind: 'secret_key_invalid'; message: string }
  /** The generated key file cannot be read or written where the data directory says (not a directory, no access). */
  | { kind: 'key_file_unusable'; message: string }
  | { kind: 'decrypt_failed'; message: string };

/**
 * AES-256-GCM over one key. `context` is bound as additional authenticated data, so a ciphertext
 * copied onto another row (another tenant's connection) fails to decrypt instead of leaking.
 */
export interface SecretBox {
  /** `v1:<iv>:<tag>:<ciphertext>`, base64 parts. */
  encrypt(plaintext: string, context: string): string;
  decrypt(sealed: string, context: string): Result<string, SecretError>;
}

/** `keyName` says in messages which key this is (`CRM_SYNC_SECRET_KEY`, the key file), so a wrong one can be found. */
export function createSecretBox(key: Buffer, keyName = 'the credentials key'): SecretBox {
  if (key.length !== 32) throw new Error(`AES-256 needs a 32-byte key, got ${key.length}`);
  return {
    encrypt(plaintext, context) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', key, iv);
      cipher.setAAD(Buffer.from(context));
      const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return [VERSION, iv, cipher.getAuthTag(), body]
        .map((p) => (typeof p === 'string' ? p : p.toString('base64')))
        .join(':');
    },
    decrypt(sealed, context) {
      const [version, iv, tag, body] = sealed.split(':');
      const ivBytes = Buffer.from(iv ?? '', 'base64');
      const tagBytes = Buffer.from(tag ?? '', 'base64');
      // GCM takes a tag as short as 4 bytes unless told its length: a value cut short would be forged in 2^32 tries.
      if (
        version !== VERSION ||
        ivBytes.length !== IV_BYTES ||
        tagBytes.length !== TAG_BYTES ||
        body === undefined
      ) {
        return err({ kind: 'decrypt_failed', message: 'stored credentials are not in a known format' });
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, ivBytes, { authTagLength: TAG_BYTES });
        decipher.setAAD(Buffer.from(context));
        decipher.setAuthTag(tagBytes);
        const plain = Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]);
        return ok(plain.toString('utf8'));
      } catch {
        return err({
          kind: 'decrypt_failed',
          message:
            `stored credentials cannot be decrypted with ${keyName}, which is not the key they were saved with: ` +
            'restore that key, or enter the credentials again (crm-sync connection set-credentials)',
        });
      }
    },
  };
}

/**
 * The credentials key: `CRM_SYNC_SECRET_KEY` when set; otherwise, for the embedded store only,
 * a key file in the data directory, generated with mode 0600 on first use (announced through `notice`).
 * A shared Postgres needs the variable: every worker must hold the same key.
 */
export async function loadSecretBox(params: {
  secretKey: string | undefined;
  /** Data directory for the generated key file; `null` when the store is a Postgres server. */
  dataDir: string | null;
  notice: (message: string) => void;
}): Promise<Result<SecretBox, SecretError>> {
  if (params.secretKey !== undefined) {
    const key = decodeSecretKey(params.secretKey);
    if (key === null) {
      return err({
        kind: 'secret_key_invalid',
        message: 'CRM_SYNC_SECRET_KEY must be 32 bytes as 64 hex digits or base64',
      });
    }
    return ok(createSecretBox(key, 'CRM_SYNC_SECRET_KEY'));
  }
  if (params.dataDir === null) {
    return err({
      kind: 'secret_key_missing',
      message:
        'CRM_SYNC_SECRET_KEY is required with DATABASE_URL: every worker must share the credentials key',
    });
  }
  const file = path.join(params.dataDir, KEY_FILE_NAME);
  const existing = await readKeyFile(file);
  if (!existing.ok) return existing;
  const keyName = `the key file ${file}`;
  if (existing.value !== null) return ok(createSecretBox(existing.value, keyName));

  const key = randomBytes(32);
  try {
    await mkdir(params.dataDir, { recursive: true });
    // Placed whole: written in place, a process reading it meanwhile, or one killed then, found a file with no key.
    await placeWhole(file, `${key.toString('hex')}\n`, 'link');
    await chmod(file, 0o600);
  } catch (error) {
    // Another process created it between our read and write: use theirs.
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return loadSecretBox(params);
    return err(keyFileUnusable(file, error));
  }
  params.notice(
    `generated a credentials key at ${file} (mode 0600); back it up, or set CRM_SYNC_SECRET_KEY instead`,
  );
  return ok(createSecretBox(key, keyName));
}

async function readKeyFile(file: string): Promise<Result<Buffer | null, SecretError>> {
  let text: string;
  let mode: number;
  try {
    text = await readFile(file, 'utf8');
    mode = (await stat(file)).mode & 0o777;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return ok(null);
    return err(keyFileUnusable(file, error));
  }
  if ((mode & 0o077) !== 0) {
    return err({
      kind: 'secret_key_invalid',
      message: `key file ${file} is readable by other users (mode ${mode.toString(8)}); run chmod 600 on it`,
    });
  }
  const key = decodeSecretKey(text);
  if (key === null)
    return err({ kind: 'secret_key_invalid', message: `key file ${file} does not hold a 32-byte key` });
  return ok(key);
}

/** Why the key file cannot be used, and the ways on: the one line an operator sees instead of a stack trace. */
function keyFileUnusable(file: string, error: unknown): SecretError {
  const reason = error instanceof Error ? error.message : String(error);
  return {
    kind: 'key_file_unusable',
    message:
      `cannot use the credentials key file ${file} (${reason}): make its directory one this user can write, ` +
      'choose another CRM_SYNC_DATA_DIR, or set CRM_SYNC_SECRET_KEY',
  };
}
