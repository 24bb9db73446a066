import { describe, expect, it } from 'vitest';
import { refuseUndecodedArguments, UsageError } from './usageError.ts';

/** What `refuseUndecodedArguments` refuses `args` with, or `null` when it takes them. */
function refusal(args: string[], valueFlags: string[] = ['--tenant', '--credentials']): string | null {
  try {
    refuseUndecodedArguments(args, new Set(valueFlags));
    return null;
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
}

describe('refuseUndecodedArguments', () => {
  it('takes arguments that decoded as UTF-8', () => {
    expect(refusal(['tenant', 'add', 'Café Lettings'])).toBeNull();
  });

  // The audit's case: `--credentials "$(printf '{"apiKey":"SUPER-SECRET\xff"}')"` printed the API key.
  it.each([
    [
      'the value of a flag',
      ['connection', 'add', '--tenant', 'a', '--credentials', '{"apiKey":"SUPER-SECRET\uFFFD"}'],
      'the value of --credentials (argument 6)',
    ],
    [
      'a flag=value',
      ['connection', 'add', '--credentials={"apiKey":"SUPER-SECRET\uFFFD"}'],
      'the value of --credentials (argument 3)',
    ],
    ['an argument of its own', ['tenant', 'add', 'SUPER-SECRET\uFFFD'], 'argument 3'],
    [
      'an argument after a flag taking no value',
      ['tenant', 'add', '--json', 'SUPER-SECRET\uFFFD'],
      'argument 4',
    ],
  ])('names %s by position, never quoting it', (_, args, named) => {
    const message = refusal(args);
    expect(message).toBe(
      `${named} is not UTF-8 text (a byte in it is not UTF-8, shown as U+FFFD; not shown: it may be a secret): ` +
        'set the terminal to UTF-8 and type it again',
    );
    expect(message).not.toContain('SECRET');
  });
});
