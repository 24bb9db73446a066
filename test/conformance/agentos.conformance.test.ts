import { describeProvider, simulatorHarness } from './providerSuite.ts';

// agentOS ids are `OID`; 50 requests/minute is scaled to a per-second window so the pacing case takes ~1 s
// (the simulator's 429 rest window and key block scale with it).
describeProvider('agentos', simulatorHarness('agentos'), {
  recordId: (raw) => (raw as { OID: string }).OID,
  fastLimits: { requestsPerMinute: undefined, requestsPerSecond: 50 },
});
