import { describeProvider, simulatorHarness } from './providerSuite.ts';

// Street counts reads (600/min) and writes (100/min) per minute [S1]; the pacing case swaps them for a
// per-second limit so it does not wait minutes (the per-minute lanes are exercised by `npm run bench:pacing`).
describeProvider('street', simulatorHarness('street'), {
  fastLimits: { readsPerMinute: undefined, writesPerMinute: undefined, requestsPerSecond: 50 },
});
