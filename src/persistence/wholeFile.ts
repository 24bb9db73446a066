import { randomUUID } from 'node:crypto';
import { link, rename, unlink, writeFile } from 'node:fs/promises';

/**
 * Writes `text` to `file` so that the file only ever appears whole: written under another name, then linked into
 * place (`link`: fails EEXIST when the file exists, which is how a file is taken) or renamed over it (`rename`).
 * Written in place, a file is empty for a moment (Node's writeFile opens, creating or truncating, before it writes),
 * and a process reading it then, or killed then, took or left an empty file for a whole one.
 */
export async function placeWhole(file: string, text: string, how: 'link' | 'rename'): Promise<void> {
  const draft = `${file}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(draft, text, { flag: 'wx', mode: 0o600 });
  try {
    await (how === 'link' ? link : rename)(draft, file);
  } finally {
    await unlink(draft).catch(() => {}); // linked: the second name; renamed: gone already
  }
}
