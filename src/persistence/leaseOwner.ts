import { randomUUID } from 'node:crypto';

/** A lease owner: `host:pid:uuid`, unique per worker, and enough to tell whether its process is gone. */
export function formatLeaseOwner(parts: { host: string; pid: number; id: string }): string {
  return `${parts.host.replaceAll(':', '_')}:${parts.pid}:${parts.id}`;
}

/**
 * The owner one run leases under: its process's (`host:pid:uuid`) and its own id. Two runs of one process each hold
 * the lease as themselves: a run whose lease lapsed and was taken over by another run of its process, releasing
 * as the process, freed the new run's lease (another worker then ran the connection beside it) and its late saves
 * passed the snapshot's fence.
 */
export function runLeaseOwner(processOwner: string): string {
  return `${processOwner}/${randomUUID()}`;
}

/**
 * `(owner) => true` when the owner is known to be gone: same host and its pid is not alive.
 * An owner on another host is never known to be gone; its lease ends at expiry.
 */
export function ownerGoneOnHost(
  host: string,
  isPidAlive: (pid: number) => boolean,
): (owner: string) => boolean {
  const localHost = host.replaceAll(':', '_');
  return (owner) => {
    const [ownerHost, pid] = owner.split(':');
    return ownerHost === localHost && pid !== undefined && /^\d+$/.test(pid) && !isPidAlive(Number(pid));
  };
}

/** Whether a local process exists (signal 0 checks without signalling; EPERM means it exists). */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
