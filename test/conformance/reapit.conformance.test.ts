import { describeProvider, simulatorHarness } from './providerSuite.ts';

describeProvider('reapit', simulatorHarness('reapit'));
