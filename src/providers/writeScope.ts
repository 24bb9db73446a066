import { err } from '../core/result.ts';
import type { HttpTransport } from './base.ts';
import type { ProviderSpec } from './spec.ts';

/**
 * A transport on which a write refused as `spec.writeScope` says (Reapit's 403 "scope") is `write_forbidden` while
 * the credentials still read: the push holds its writes and the cycle keeps its reads. The read is asked each time
 * (one cheap `probe`): a push resumed after a backoff or a restart runs without this cycle's reads, and credentials
 * refused for reads too (revoked, or Alto's wrong AgencyRef) are `auth_failed`, as ever.
 */
export function withWriteScope(transport: HttpTransport, spec: ProviderSpec): HttpTransport {
  const scope = spec.writeScope;
  if (scope === undefined) return transport;
  return {
    async send(request) {
      const sent = await transport.send(request);
      if (sent.ok || request.method === 'GET') return sent;
      const { error } = sent;
      if (error.kind !== 'auth_failed' || !scope.statuses.some((s) => s === error.status)) return sent;
      const read = await transport.send({ method: 'GET', path: scope.probe, signal: request.signal });
      if (!read.ok && read.error.kind === 'auth_failed') return read;
      return err({
        kind: 'write_forbidden',
        status: error.status,
        message: `the credentials read but may not write: ${scope.grant} (${error.message})`,
      });
    },
  };
}
