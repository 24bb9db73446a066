import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it, vi } from 'vitest';
import { identifiableContactSchema } from '../core/schemas.ts';
import { readJsonLines } from './jsonLines.ts';

const dir = mkdtempSync(join(tmpdir(), 'crm-sync-json-lines-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What reading `text` as an import file writes to stderr and throws. */
function refusal(text: string): { stderr: string; thrown: string } {
  const file = join(dir, 'leads.jsonl');
  writeFileSync(file, text);
  const written: string[] = [];
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
    written.push(String(chunk));
    return true;
  });
  try {
    readJsonLines(file, identifiableContactSchema);
    return { stderr: written.join(''), thrown: '' };
  } catch (error) {
    return { stderr: written.join(''), thrown: (error as Error).message };
  } finally {
    spy.mockRestore();
  }
}

it('refuses a line giving a field twice, which JSON.parse would read as its last value without a word', () => {
  const { stderr, thrown } = refusal(
    '{"firstName":"Priya","email":"priya@example.com"}\n{"firstName":"Ann","email":"a@x.test","email":"b@y.test"}\n',
  );
  expect(thrown).toMatch(/leads\.jsonl: 1 invalid line\(s\); nothing imported$/);
  expect(stderr).toMatch(/leads\.jsonl:2: email: given more than once\n$/);
});

/**
 * docs/cli.md: a control character in a name, value or message is shown as its JSON escape, never written to the
 * terminal. Zod's problem for an unknown key quotes the key, which comes from the file.
 */
it('reports a bad line naming a key with a control character escaped', () => {
  const { stderr } = refusal('{"firstName":"Priya","\\u001b]0;pwned\\u0007\\u001b[2J":1}\n');
  expect(stderr).toContain(':1: Unrecognized key');
  expect(stderr).not.toContain('\u001b');
  expect(stderr).toContain('\\u001b[2J');
});
