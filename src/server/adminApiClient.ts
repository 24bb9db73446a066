import { request } from 'node:http';
import { z } from 'zod';
import { err, ok, type Result } from '../core/result.ts';
import { type HolderAddress, tokenRefusal, tokenWasAccepted } from '../persistence/remoteStore.ts';
import type { ConnectionRef } from '../persistence/store.ts';

/**
 * Runs one connection in the holder through its admin API (`POST …/connections/:id/sync`, `…/retry` or `…/reset`,
 * see `routes/connections.ts`) and waits until it settles. The failure is the API's one-line reason.
 */
export async function runConnectionInHolder(
  address: HolderAddress,
  ref: ConnectionRef,
  mode: 'cycle' | 'retry' | 'reset',
): Promise<Result<void, string>> {
  const action = mode === 'cycle' ? 'sync' : mode;
  const url = `${address.adminUrl}/api/tenants/${ref.tenantId}/connections/${ref.connectionId}/${action}`;
  const answer = await post(url, address.token);
  if (!answer.ok) return err(`${address.holderName} at ${address.adminUrl} did not answer (${answer.error})`);
  if (answer.value.status === 401) return err(tokenRefusal(address).message);
  tokenWasAccepted(address);
  if (answer.value.status === 200) return ok(undefined);
  return err(errorOf(answer.value.body) ?? `${address.holderName} answered HTTP ${answer.value.status}`);
}

/**
 * A bodiless POST over `node:http` rather than `fetch`: a cycle may run longer than fetch's fixed 300 s wait for
 * response headers, and the holder answers only when the run has settled.
 */
function post(url: string, token: string): Promise<Result<{ status: number; body: string }, string>> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'POST', headers: { authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve(ok({ status: res.statusCode ?? 0, body })));
      res.on('error', (error) => resolve(err(error.message)));
    });
    req.on('error', (error: NodeJS.ErrnoException) => resolve(err(error.code ?? error.message)));
    req.end();
  });
}

const apiErrorSchema = z.object({ error: z.string() });

/** The admin API's one-line `error`, when the body is one. */
function errorOf(body: string): string | null {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return null;
  }
  const parsed = apiErrorSchema.safeParse(json);
  return parsed.success ? parsed.data.error : null;
}
