import { createFakeBackend, createFakeProvider, fakeSpec } from '../../src/providers/fake/fakeProvider.ts';
import { createLimiter } from '../../src/providers/limiter.ts';
import { describeProvider } from './providerSuite.ts';

describeProvider('fake', async (options) => {
  const backend = createFakeBackend(options);
  return {
    spec: fakeSpec,
    control: backend.control,
    provider: ({ credentials = 'valid', spec } = {}) =>
      createFakeProvider({
        backend,
        credentials: credentials === 'valid' ? backend.credentials : { apiKey: 'wrong' },
        ...(spec ? { spec, limiter: createLimiter(spec) } : {}),
      }),
    close: async () => {},
  };
});
