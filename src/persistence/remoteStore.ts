import { z } from 'zod';
import { err, ok, type Result } from '../core/result.ts';
import type { Store, StoreData, StoreError } from './store.ts';
import {
  answerSchema,
  decodeWire,
  encodeWire,
  type RemoteMethod,
  remoteStoreMethods,
  STORE_RPC_PATH,
} from './storeRpc.ts';

/** Where another command reaches the process holding the embedded database. */
export interface HolderAddress {
  /** The holder's admin server, e.g. `http://127.0.0.1:3000` (its lock file's `adminUrl`). */
  adminUrl: string;
  /** The holder's admin bearer token. */
  token: string;
  /** How failures name the holder, e.g. `the running crm-sync serve (pid 4121)`. */
  holderName: string;
  /**
   * Set once the holder has accepted `token` (any answer but 401), shared by the calls of one command: a 401 after
   * that means the holder restarted with another token (a `serve` on a fixed port, its token generated afresh).
   * Kept on the address object, which those calls share.
   */
  tokenAccepted?: boolean;
}

/**
 * Why the holder answered 401. Before it ever accepted the token: configuration, which running the command again
 * cannot fix (`adminTokenRefused`). After: it has restarted since, and the command run again reads its new token.
 */
export function tokenRefusal(address: HolderAddress): StoreError {
  return address.tokenAccepted === true
    ? {
        kind: 'unavailable',
        message: `${address.holderName} refused the admin token it had accepted earlier in this command: it has restarted with another; run the command again`,
      }
    : {
        kind: 'unavailable',
        message: `${address.holderName} refused the admin token (CRM_SYNC_ADMIN_TOKEN must match the one it was started with)`,
        adminTokenRefused: true,
      };
}

const storeErrorSchema = z.looseObject({
  kind: z.enum([
    'not_found',
    'conflict',
    'invalid_input',
    'lease_held',
    'lease_lost',
    'decrypt_failed',
    'corrupt',
    'unavailable',
  ]),
  message: z.string(),
});

/**
 * The store of the process holding the embedded database, through its admin server. Each allowed data method
 * is one request; the others (credentials out, the sync machinery) and `transaction` answer `unavailable`
 * without a request, as does a holder that stopped answering. Answers are checked against the row schemas.
 */
export function createRemoteStore(address: HolderAddress): Store {
  const { adminUrl, token, holderName } = address;
  const unavailable = (message: string) => err<StoreError>({ kind: 'unavailable', message });

  async function call(
    method: string,
    output: z.ZodType,
    input: unknown,
  ): Promise<Result<unknown, StoreError>> {
    let status: number;
    let text: string;
    try {
      const response = await fetch(`${adminUrl}${STORE_RPC_PATH}/${method}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: encodeWire({ input }),
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      return unavailable(`${holderName} at ${adminUrl} did not answer (${networkCode(error)})`);
    }
    if (status === 401) return err(tokenRefusal(address));
    tokenWasAccepted(address);
    if (status !== 200) return refusal(status, text);
    const answer = answerSchema.safeParse(safeDecode(text));
    if (!answer.success) return unavailable(`${holderName} answered ${method} with an unreadable body`);
    if (!answer.data.ok) {
      const error = storeErrorSchema.safeParse(answer.data.error);
      return error.success
        ? err(error.data as StoreError)
        : unavailable(`${holderName} answered ${method} with an unknown failure`);
    }
    const value = output.safeParse(answer.data.value);
    if (!value.success) {
      return err({
        kind: 'corrupt',
        message: `${holderName} answered ${method} with a value that does not match its schema: ${z.prettifyError(value.error)}`,
      });
    }
    return ok(value.data);
  }

  function refusal(status: number, text: string): Result<never, StoreError> {
    const reason = errorBodySchema.safeParse(safeJson(text));
    const message = reason.success ? reason.data.error : `HTTP ${status}`;
    if (status === 400) return err({ kind: 'invalid_input', message });
    return unavailable(`${holderName} refused the call: ${message}`);
  }

  const methods: Record<string, (input?: unknown) => Promise<Result<unknown, StoreError>>> = {};
  for (const [name, spec] of Object.entries(remoteStoreMethods) as Array<
    [string, RemoteMethod<keyof StoreData> | null]
  >) {
    methods[name] =
      spec === null
        ? async () => unavailable(`${name} runs only in ${holderName}, which holds the database`)
        : (input) => call(name, spec.output, input);
  }
  return {
    // One function per key of `StoreData` (the table is exhaustive), each answering that method's Result.
    ...(methods as unknown as StoreData),
    async transaction() {
      return unavailable(`transactions run only in ${holderName}, which holds the database`);
    },
  };
}

/** Notes that the holder accepted the address's token (see `HolderAddress.tokenAccepted`). */
export function tokenWasAccepted(address: HolderAddress): void {
  address.tokenAccepted = true;
}

const errorBodySchema = z.object({ error: z.string() });

function safeDecode(text: string): unknown {
  try {
    return decodeWire(text);
  } catch {
    return null;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/** `ECONNREFUSED` and the like, from fetch's `cause`. */
function networkCode(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  return error instanceof Error ? error.message : String(error);
}
