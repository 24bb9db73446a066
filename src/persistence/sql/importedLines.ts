import { z } from 'zod';
import { ok } from '../../core/result.ts';
import { guarded } from '../sqlClient.ts';
import type { ContactStore } from '../store.ts';
import { json, parseInput, parseRows, type SqlContext } from './context.ts';

const foldedQuerySchema = z.strictObject({ tenantId: z.uuid(), lineIds: z.array(z.uuid()) });
const foldedLineSchema = z.strictObject({ lineId: z.uuid(), contactId: z.uuid() });
const recordSchema = z.strictObject({ tenantId: z.uuid(), lines: z.array(foldedLineSchema) });

type ImportedLineMethods = Pick<ContactStore, 'getFoldedImportLines' | 'recordFoldedImportLines'>;

export function importedLineMethods(ctx: SqlContext): ImportedLineMethods {
  const { client } = ctx;

  return {
    getFoldedImportLines: (input) =>
      guarded(async () => {
        const parsed = parseInput(foldedQuerySchema, input);
        if (!parsed.ok) return parsed;
        const { tenantId, lineIds } = parsed.value;
        if (lineIds.length === 0) return ok([]);
        const { rows } = await client.query(
          `SELECT line_id AS "lineId", contact_id AS "contactId" FROM imported_lines
           WHERE tenant_id = $1 AND line_id = ANY($2::uuid[])`,
          [tenantId, lineIds],
        );
        return parseRows(foldedLineSchema, rows, 'imported line');
      }),

    recordFoldedImportLines: (input) =>
      guarded(
        async () => {
          const parsed = parseInput(recordSchema, input);
          if (!parsed.ok) return parsed;
          const { tenantId, lines } = parsed.value;
          if (lines.length === 0) return ok(undefined);
          // A line folded before keeps the contact it was folded into.
          await client.query(
            `INSERT INTO imported_lines (tenant_id, line_id, contact_id)
             SELECT $1, l."lineId", l."contactId"
             FROM jsonb_to_recordset($2::jsonb) AS l("lineId" uuid, "contactId" uuid)
             ON CONFLICT (tenant_id, line_id) DO NOTHING`,
            [tenantId, json(lines)],
          );
          return ok(undefined);
        },
        { not_found: 'an imported line names a contact that this tenant does not have' },
      ),
  };
}
