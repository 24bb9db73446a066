import { isSyncedContact } from '../../src/providers/alto/mapping.ts';
import type { AltoSimulatorOptions } from '../../src/providers/alto/simulator.ts';
import type { SimulatorOptions } from '../../src/providers/simulator/server.ts';
import { describeProvider, simulatorHarness } from './providerSuite.ts';

/**
 * Alto's budget is per second (an ASSUMPTION, see src/providers/alto/spec.ts), so no scaling is needed. Its book
 * holds contacts filed under other categories than Client too (a solicitor, a guarantor), which are not synced.
 */
describeProvider(
  'alto',
  (options: SimulatorOptions) => {
    const withOthers: AltoSimulatorOptions = { ...options, nonClientContacts: 4 };
    return simulatorHarness('alto')(withOthers);
  },
  { synced: isSyncedContact },
);
