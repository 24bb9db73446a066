import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseRows } from './context.ts';

describe('parseRows', () => {
  // A stored contact whose counter had gone past a safe integer printed zod's JSON over a dozen lines in the CLI.
  it('says on one line, without the stored values, which field of a stored row does not match', () => {
    const row = { id: 'c1', contact: { emailOpens: 'Jane Doe, 07700 900123', lastName: 7 } };
    const schema = z.object({
      id: z.string(),
      contact: z.object({ emailOpens: z.number(), lastName: z.string() }),
    });
    const parsed = parseRows(schema, [row], 'contact');
    expect(parsed).toEqual({
      ok: false,
      error: {
        kind: 'corrupt',
        message:
          'stored contact does not match its schema: contact.emailOpens: Invalid input: expected number, received string; ' +
          'contact.lastName: Invalid input: expected string, received number',
      },
    });
  });
});
