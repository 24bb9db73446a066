import { describeProvider, simulatorHarness } from './providerSuite.ts';

// Loop's API is ASSUMED (src/providers/loop); 60 requests/minute scaled to a per-second window for pacing.
describeProvider('loop', simulatorHarness('loop'), {
  fastLimits: { requestsPerMinute: undefined, requestsPerSecond: 50 },
});
