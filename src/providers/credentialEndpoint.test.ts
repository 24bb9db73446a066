import { describe, expect, it } from 'vitest';
import { credentialEndpointSchema } from './credentialEndpoint.ts';

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
