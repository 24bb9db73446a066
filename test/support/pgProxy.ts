import { createConnection, createServer, type Socket } from 'node:net';

/** What the proxy does with a connection. */
export type ProxyMode =
  /** Relay bytes both ways. */
  | 'pass'
  /** Answer every new connection as a server in startup or shutdown does: FATAL 57P03, then close. */
  | 'startingUp'
  /**
   * Relay as PgBouncer does a client's connection: refused (FATAL 08P01) when its startup packet holds a parameter
   * other than those it knows (its default `track_extra_parameters` and no `ignore_startup_parameters`).
   */
  | 'pooler';

/** The startup parameters PgBouncer 1.18 accepts by default. */
const poolerParameters = new Set([
  'user',
  'database',
  'application_name',
  'client_encoding',
  'datestyle',
  'timezone',
  'standard_conforming_strings',
]);

/** The parameter names of a startup packet (length, protocol version, then name and value C strings). */
function startupParameterNames(packet: Buffer): string[] {
  const fields = packet.subarray(8, packet.readInt32BE(0)).toString('utf8').split('\0');
  return fields.filter((_, i) => i % 2 === 0 && fields[i] !== '');
}

/** A TCP proxy in front of a PostgreSQL server, on 127.0.0.1, that can play outages on cue. */
export interface PgProxy {
  /** The server's URL with the proxy's host and port. */
  url: string;
  /** Applies to connections opened from now on. */
  setMode(mode: ProxyMode): void;
  /** Resets (TCP RST) every relayed connection, as a crashed server or a dropped network does. */
  resetAll(): void;
  /** Stops relaying on every open connection, neither side told: a network gone silent (a NAT's lost mapping). */
  silenceAll(): void;
  close(): Promise<void>;
}

/** An ErrorResponse message of the wire protocol: severity, SQLSTATE and message fields. */
function errorResponse(code: string, message: string): Buffer {
  const fields = Buffer.concat(
    [
      ['S', 'FATAL'],
      ['V', 'FATAL'],
      ['C', code],
      ['M', message],
    ].map(([type, value]) => Buffer.from(`${type}${value}\0`)),
  );
  const header = Buffer.alloc(5);
  header.write('E', 0);
  header.writeInt32BE(4 + fields.length + 1, 1);
  return Buffer.concat([header, fields, Buffer.from([0])]);
}

export async function startPgProxy(serverUrl: string): Promise<PgProxy> {
  const target = new URL(serverUrl);
  let mode: ProxyMode = 'pass';
  // Each relayed client's socket, with its socket to the server.
  const relayed = new Map<Socket, Socket>();

  const server = createServer((client) => {
    client.on('error', () => {});
    if (mode === 'startingUp') {
      // The server reads the startup packet before it refuses.
      client.once('data', () => client.end(errorResponse('57P03', 'the database system is starting up')));
      return;
    }
    if (mode === 'pooler') {
      client.once('data', (packet) => {
        const unknown = startupParameterNames(packet).find(
          (name) => !poolerParameters.has(name.toLowerCase()),
        );
        if (unknown !== undefined) {
          client.end(errorResponse('08P01', `unsupported startup parameter: ${unknown}`));
          return;
        }
        relay(client, packet);
      });
      return;
    }
    relay(client);
  });

  /** Relays `client` to the server, `first` (bytes read from it already) sent ahead. */
  const relay = (client: Socket, first?: Buffer) => {
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    if (first !== undefined) upstream.write(first);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
    relayed.set(client, upstream);
    client.on('close', () => {
      relayed.delete(client);
      upstream.destroy();
    });
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (typeof address !== 'object' || address === null) throw new Error('proxy has no address');
  const url = new URL(serverUrl);
  url.host = `127.0.0.1:${address.port}`;

  return {
    url: url.toString(),
    setMode: (next) => {
      mode = next;
    },
    resetAll: () => {
      for (const socket of relayed.keys()) socket.resetAndDestroy();
    },
    silenceAll: () => {
      // Unpiped, each side's bytes stay unread in the proxy: nothing arrives, nothing is refused.
      for (const [client, upstream] of relayed) {
        client.unpipe(upstream);
        upstream.unpipe(client);
      }
    },
    close: async () => {
      for (const socket of relayed.keys()) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
