/**
 * A small TCP fault proxy for link-fault tests (node:net): sits between a client and a broker
 * and, on a schedule drawn from a seeded random source, resets connections, hangs them
 * (bytes stop flowing, sockets stay open), drips bytes slowly, or cuts a connection in the
 * middle of a packet. The same seed gives the same sequence of faults.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { seededRandom } from './fault-processes.ts';

export type LinkFault = 'pass' | 'reset' | 'hang' | 'drip' | 'cut';
export const LINK_FAULTS: readonly LinkFault[] = ['pass', 'reset', 'hang', 'drip', 'cut'];

interface Pair {
  client: Socket;
  upstream: Socket;
  mode: LinkFault;
}

export interface FaultProxy {
  port: number;
  url: string;
  /** Faults applied so far, in order: the replayable schedule. */
  log: LinkFault[];
  /** Applies one fault to every live connection (and to new ones until the next fault). */
  apply(fault: LinkFault): void;
  /** Applies a random fault every `everyMs` (drawn from the seed) until stop(). */
  startSchedule(everyMs: number): void;
  /** Back to a clean link. */
  heal(): void;
  close(): Promise<void>;
}

export async function startFaultProxy(targetPort: number, seed: number): Promise<FaultProxy> {
  const rng = seededRandom(seed);
  const pairs = new Set<Pair>();
  let mode: LinkFault = 'pass';
  let timer: NodeJS.Timeout | undefined;
  const log: LinkFault[] = [];

  const forward = (p: Pair, from: Socket, to: Socket) => {
    from.on('data', (chunk: Buffer) => {
      switch (p.mode) {
        case 'pass':
          to.write(chunk);
          return;
        case 'hang':
          // Swallowed: the link looks alive but nothing arrives (a dead NAT entry, a stuck modem).
          return;
        case 'drip': {
          from.pause();
          let i = 0;
          const step = () => {
            if (to.destroyed || from.destroyed) return;
            if (i >= chunk.length) return void from.resume();
            to.write(chunk.subarray(i, i + 7));
            i += 7;
            setTimeout(step, 5);
          };
          step();
          return;
        }
        case 'cut':
          // Half a packet, then the connection is gone.
          to.write(chunk.subarray(0, Math.max(1, Math.floor(chunk.length / 2))));
          p.client.destroy();
          p.upstream.destroy();
          return;
        case 'reset':
          p.client.resetAndDestroy();
          p.upstream.destroy();
          return;
      }
    });
  };

  const server: Server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    const p: Pair = { client, upstream, mode };
    pairs.add(p);
    const drop = () => {
      pairs.delete(p);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    forward(p, client, upstream);
    forward(p, upstream, client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;

  const apply = (fault: LinkFault) => {
    log.push(fault);
    mode = fault;
    for (const p of pairs) {
      p.mode = fault;
      if (fault === 'reset') {
        p.client.resetAndDestroy();
        p.upstream.destroy();
      }
    }
  };

  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    log,
    apply,
    startSchedule(everyMs) {
      const next = () => {
        apply(LINK_FAULTS[Math.floor(rng() * LINK_FAULTS.length)]!);
        timer = setTimeout(next, everyMs);
      };
      timer = setTimeout(next, everyMs);
    },
    heal() {
      if (timer) clearTimeout(timer);
      timer = undefined;
      // Hung and dripping connections are dropped so clients reconnect over a clean link.
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      mode = 'pass';
    },
    async close() {
      if (timer) clearTimeout(timer);
      for (const p of pairs) {
        p.client.destroy();
        p.upstream.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
