import { describe, expect, it } from 'vitest';
import { credentialEndpointSchema, quotedUrl } from './credentialEndpoint.ts';

describe('credentialEndpointSchema', () => {
  it.each([
    'https://platform.reapit.cloud',
    'https://crm.example.com:8443/api',
    'http://127.0.0.1:39313',
    'http://127.1.2.3/',
    'http://127.1:80',
    'http://LOCALHOST:3000/token',
    'http://[::1]:8080',
    'http://[0:0::1]/',
  ])('takes %s', (url) => {
    expect(credentialEndpointSchema.safeParse(url).success).toBe(true);
  });

  it.each([
    'http://crm.example.com',
    'http://10.0.0.5/token',
    'http://128.0.0.1',
    'http://localhost.example.com',
    'http://127.0.0.1.nip.io',
    'http://[::ffff:127.0.0.1]',
    'http://[::2]',
    'ftp://127.0.0.1',
    'javascript:alert(1)',
    'not a url',
  ])('refuses %s', (url) => {
    expect(credentialEndpointSchema.safeParse(url).success).toBe(false);
  });
});

describe('quotedUrl', () => {
  it.each([
    ['https://crm.example.com/api', '"https://crm.example.com/api"'],
    ['crm.example.com/api', '"crm.example.com/api"'],
    ['https://admin:s3cret@crm.example.com/api', '"https://***@crm.example.com/api"'],
    ['https://crm.example.com/api?api_key=s3cret', '"https://crm.example.com/api?…"'],
    ['https://crm.example.com/api#key=s3cret?x', '"https://crm.example.com/api#…"'],
    // Does not parse (port out of range): the password cannot be told from the rest.
    [
      'https://admin:s3cret@crm.example.com:99999/api',
      'a text holding "@" (not shown: it may hold a password)',
    ],
    // Parses as a URL of scheme `admin:`, the password in its path.
    ['admin:s3cret@crm.example.com', 'a text holding "@" (not shown: it may hold a password)'],
    ['ftp://admin:s3cret@crm.example.com', 'a text holding "@" (not shown: it may hold a password)'],
  ])('shows %s as %s', (text, shown) => {
    expect(quotedUrl(text)).toBe(shown);
  });
});
