import { describe, expect, it } from 'vitest';
import { redactQuery } from './redactQuery.ts';

describe('redactQuery', () => {
  it.each([
    {
      path: `/contacts/?${new URLSearchParams([
        ['pageSize', '100'],
        ['email[]', 'lead0@example.org'],
      ])}`,
      personal: ['email[]'],
      shown: '/contacts/?pageSize=100&email%5B%5D=…',
    },
    {
      path: `/contacts/search?${new URLSearchParams({ query: 'Ann+Lee@example.org', 'max-results': '250' })}`,
      personal: ['query'],
      shown: '/contacts/search?query=…&max-results=250',
    },
    {
      path: `/people?${new URLSearchParams({ 'filter[email_address]': 'a b@example.org', 'page[size]': '100' })}`,
      personal: ['filter[email_address]'],
      shown: '/people?filter%5Bemail_address%5D=…&page%5Bsize%5D=100',
    },
    {
      path: '/contacts/all?modified-from=2024-01-01T00%3A00%3A00Z',
      personal: ['query'],
      shown: '/contacts/all?modified-from=2024-01-01T00%3A00%3A00Z',
    },
    {
      path: '/contacts/?email%5B%5D=x%40y.z&email%5B%5D=w%40y.z',
      personal: ['email[]'],
      shown: '/contacts/?email%5B%5D=…&email%5B%5D=…',
    },
    { path: '/contacts/abc', personal: ['query'], shown: '/contacts/abc' },
    { path: '/contacts/search?query=%ZZ&flag', personal: ['query'], shown: '/contacts/search?query=…&flag' },
  ])('$shown', ({ path, personal, shown }) => {
    expect(redactQuery(path, personal)).toBe(shown);
  });
});
