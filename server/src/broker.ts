/**
 * The embedded MQTT broker (aedes over TCP) for the one-machine default. Production may use an
 * external broker (Mosquitto) instead, by URL.
 *
 * Protocol: aedes 1.2 speaks MQTT 3.1 and 3.1.1 only. An MQTT 5 CONNECT is answered with
 * CONNACK return code 1 ("unacceptable protocol version"), so clients of the embedded broker
 * must use protocolVersion 4.
 */
import { Aedes } from 'aedes';
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { Logger } from '../../common/logger.ts';

/** The MQTT protocol version the embedded broker accepts. */
export const EMBEDDED_BROKER_PROTOCOL_VERSION = 4 as const;

export interface BrokerOptions {
  host: string;
  /** 0 picks any free port; `start()` returns the real one. */
  port: number;
  logger: Logger;
}

export interface StartedBroker {
  host: string;
  port: number;
  /** `mqtt://host:port`, with a wildcard listen address replaced by loopback. */
  url: string;
}

export interface EmbeddedBroker {
  start(): Promise<StartedBroker>;
  stop(): Promise<void>;
}

export function createEmbeddedBroker(opts: BrokerOptions): EmbeddedBroker {
  let aedes: Aedes | undefined;
  let server: Server | undefined;

  return {
    async start() {
      if (server) throw new Error('broker already started');
      const broker = await Aedes.createBroker();
      broker.on('clientError', (client, err) => opts.logger.debug({ clientId: client.id, err: err.message }, 'mqtt client error'));
      broker.on('connectionError', (_client, err) => opts.logger.debug({ err: err.message }, 'mqtt connection error'));
      const srv = createServer(broker.handle);
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(opts.port, opts.host, () => {
          srv.off('error', reject);
          resolve();
        });
      }).catch(async (err: unknown) => {
        await new Promise<void>((r) => broker.close(() => r()));
        throw err;
      });
      srv.on('error', (err) => opts.logger.error({ err }, 'mqtt listener error'));
      aedes = broker;
      server = srv;
      const port = (srv.address() as AddressInfo).port;
      const url = `mqtt://${connectHost(opts.host)}:${port}`;
      opts.logger.info({ url, protocol: 'MQTT 3.1.1' }, 'embedded MQTT broker listening');
      return { host: opts.host, port, url };
    },

    async stop() {
      const srv = server;
      const broker = aedes;
      server = undefined;
      aedes = undefined;
      // Closing aedes first disconnects its clients, so the listener can close without waiting.
      if (broker) await new Promise<void>((r) => broker.close(() => r()));
      if (srv) await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

/** A host a local client can connect to, for a listen address that may be a wildcard. */
export function connectHost(listenHost: string): string {
  if (listenHost === '' || listenHost === '0.0.0.0') return '127.0.0.1';
  if (listenHost === '::') return '[::1]';
  return listenHost.includes(':') ? `[${listenHost}]` : listenHost;
}
