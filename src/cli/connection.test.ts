import { describe, expect, it } from 'vitest';
import { parseBaseUrl } from './connection.ts';
import { UsageError } from './usageError.ts';

/** What `parseBaseUrl` refuses `text` with. */
function refusal(text: string): string {
  try {
    parseBaseUrl(text, '--base-url');
  } catch (error) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  throw new Error(`${text} was taken`);
}

describe('parseBaseUrl', () => {
  it('takes an https URL, and plain http to this machine', () => {
    expect(parseBaseUrl('https://crm.example.com/api', '--base-url')).toBe('https://crm.example.com/api');
    expect(parseBaseUrl('http://127.0.0.1:4010', '--base-url')).toBe('http://127.0.0.1:4010');
  });

  // The audit's case: the URL was quoted whole before its user name and password were looked at.
  it.each([
    [
      'https://admin:s3cret@crm.example.com:99999/api',
      'must be an http or https URL, got a text holding "@"',
    ],
    ['admin:s3cret@crm.example.com', 'must be an http or https URL, got a text holding "@"'],
    ['ftp://admin:s3cret@crm.example.com/api', 'must be an http or https URL, got a text holding "@"'],
    ['https://admin:s3cret@crm.example.com/api', 'must not hold a user name or password'],
    ['http://admin:s3cret@crm.example.com/api', 'must not hold a user name or password'],
  ])('refuses %s without showing its password', (text, problem) => {
    const message = refusal(text);
    expect(message).toContain(`--base-url ${problem}`);
    expect(message).not.toContain('s3cret');
  });

  it('shows a URL it refuses up to its query, which may carry an API key, whatever it is refused for', () => {
    const message = refusal('https://crm.example.com/api?api_key=s3cret');
    expect(message).toMatch(/must not hold a query .*, got "https:\/\/crm\.example\.com\/api\?…"$/);
    expect(message).not.toContain('s3cret');
    expect(refusal('http://crm.example.com/api?api_key=s3cret')).toMatch(
      /^--base-url must be https: .*, got "http:\/\/crm\.example\.com\/api\?…"$/,
    );
    expect(refusal('ftp://crm.example.com/api#api_key=s3cret')).toBe(
      '--base-url must be an http or https URL, got "ftp://crm.example.com/api#…"',
    );
  });

  it('quotes a text that holds no password', () => {
    expect(refusal('crm.example.com/api')).toBe(
      '--base-url must be an http or https URL, got "crm.example.com/api"',
    );
    expect(refusal('http://crm.example.com/api')).toMatch(
      /^--base-url must be https: .*, got "http:\/\/crm\.example\.com\/api"$/,
    );
  });
});
