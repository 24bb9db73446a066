import { describeStoreAudit } from './auditSuite.ts';
import { pgliteBackend, useBackend } from './backends.ts';
import { describeStoreData } from './dataSuite.ts';
import { describeStorePlans } from './plansSuite.ts';
import { describeStore } from './storeSuite.ts';

const backend = useBackend(pgliteBackend);
describeStore('PGlite', backend);
describeStoreData('PGlite', backend);
describeStoreAudit('PGlite', backend);
describeStorePlans('PGlite', backend);
