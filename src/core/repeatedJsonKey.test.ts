import { describe, expect, it } from 'vitest';
import { repeatedJsonKey } from './repeatedJsonKey.ts';

describe('repeatedJsonKey', () => {
  it.each([
    ['{"name":"Dup One","name":"Dup Two"}', ['name']],
    ['{"a":1,"b":{"c":1,"c":2}}', ['b', 'c']],
    ['{"events":[{"id":"1"},{"id":"2","at":"x","at":"y"}]}', ['events', 1, 'at']],
    // The same key however it is written: an escape is the character it stands for.
    ['{"name":1,"n\\u0061me":2}', ['name']],
  ])('%s → %j', (text, path) => {
    expect(repeatedJsonKey(text)).toEqual(path);
  });

  it.each([
    '{"name":"a","interval":"1m"}',
    '{"a":{"x":1},"b":{"x":1}}',
    '[{"x":1},{"x":1}]',
    '{"a":"he said \\"a\\": 1, \\"a\\": 2","b":[1,{"a":2}],"c":"}{]["}',
    '"text"',
    '42',
  ])('%s: none', (text) => {
    expect(repeatedJsonKey(text)).toBeNull();
  });
});
