import { describe, expect, it } from 'vitest';
import { getProvider } from './registry.ts';

describe('a provider built from credentials that do not fit its schema', () => {
  it('is refused in one line naming each field at fault, never a value', () => {
    const reapit = getProvider('reapit') ?? expect.unreachable();
    const built = reapit.createProvider({
      baseUrl: 'https://platform.reapit.cloud',
      credentials: { clientId: 'secret-looking-value', customerId: 42 },
    });
    expect(built.ok).toBe(false);
    if (built.ok) return;
    expect(built.error.kind).toBe('validation');
    expect(built.error.message).not.toContain('\n');
    expect(built.error.message).toMatch(/^reapit credentials: .*clientSecret: required.*customerId: /);
    expect(built.error.message).not.toContain('secret-looking-value');
  });
});
