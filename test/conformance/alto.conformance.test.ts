import { describeProvider, simulatorHarness } from './providerSuite.ts';

// Alto's budget is per second (an ASSUMPTION, see src/providers/alto/spec.ts), so no scaling is needed.
describeProvider('alto', simulatorHarness('alto'));
