/**
 * The embedded MQTT broker (aedes over TCP) for the one-machine default. Production may use an
 * external broker (Mosquitto) instead, by URL.
 *
 * Protocol: aedes 2 (2.0.0-beta.1, pinned: the first aedes with MQTT 5; 1.x speaks only 3.1.1)
 * speaks MQTT 5 and 3.1.1. Under 5 a refusal is a reason code the client sees (CONNACK 0x86,
 * PUBACK/SUBACK 0x87) and the connection stays; under 3.1.1 a refused PUBLISH can only drop
 * the connection.
 */
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { Logger } from '../../common/logger.ts';
import { mayPublish, maySubscribe, type BrokerIdentity } from './modules/devices/topic-acl.ts';

/** The MQTT protocol version the embedded broker accepts. */
export const EMBEDDED_BROKER_PROTOCOL_VERSION = 5 as const;

export interface BrokerOptions {
  host: string;
  /** 0 picks any free port; `start()` returns the real one. */
  port: number;
  logger: Logger;
  /**
   * Who may connect. Without it every client is anonymous and allowed everything (tests of the
   * broker alone). With it, CONNECTs are checked and every PUBLISH and SUBSCRIBE is held to the
   * topic rules in topic-acl.ts.
   */
  auth?: BrokerAuth;
}

export interface BrokerAuth {
  /** The identity for this CONNECT, or why it is refused (CONNACK return code 2, 4 or 5). */
  authenticate(clientId: string, username: string | undefined, password: Buffer | undefined): Promise<BrokerIdentity | BrokerRefusal>;
  /** Whether anonymous clients are still allowed; checked again at every PUBLISH and SUBSCRIBE. */
  anonymousAllowed(): boolean;
}

export interface BrokerRefusal {
  refuse: 2 | 4 | 5;
  reason: string;
}

/** What an identity may do right now: an anonymous client loses everything once the broker locks. */
function allowed(auth: BrokerAuth, identity: BrokerIdentity | undefined): identity is BrokerIdentity {
  return identity !== undefined && (identity.kind !== 'anonymous' || auth.anonymousAllowed());
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
      const identities = new WeakMap<Client, BrokerIdentity>();
      const auth = opts.auth;
      const broker = await Aedes.createBroker(
        auth
          ? {
              authenticate(client, username, password, done) {
                auth.authenticate(client.id, username, password).then(
                  (result) => {
                    if ('refuse' in result) {
                      opts.logger.warn({ clientId: client.id, username, reason: result.reason }, 'mqtt connect refused');
                      const err = new Error(result.reason) as AuthenticateError;
                      err.returnCode = result.refuse;
                      return done(err, false);
                    }
                    identities.set(client, result);
                    done(null, true);
                  },
                  (err: unknown) => {
                    opts.logger.error({ err, clientId: client.id }, 'mqtt authentication failed');
                    const e = new Error('server unavailable') as AuthenticateError;
                    e.returnCode = 3;
                    done(e, false);
                  },
                );
              },
              authorizePublish(client, packet, done) {
                // client is null for messages the broker itself publishes ($SYS): allowed.
                const identity = client ? identities.get(client) : { kind: 'server' as const };
                if (allowed(auth, identity) && mayPublish(identity, packet.topic)) return done(null);
                // MQTT 5: PUBACK 0x87 Not authorized. MQTT 3.1.1 has no way to refuse one
                // PUBLISH: aedes drops the connection.
                opts.logger.warn({ clientId: client?.id, topic: packet.topic }, 'mqtt publish refused: not this client\'s topic');
                done(new Error(`publish to ${packet.topic} not allowed`));
              },
              authorizeSubscribe(client, sub, done) {
                const identity = identities.get(client);
                if (allowed(auth, identity) && maySubscribe(identity, sub.topic)) return done(null, sub);
                opts.logger.warn({ clientId: client.id, topic: sub.topic }, 'mqtt subscribe refused: not this client\'s topic');
                // A null subscription is answered with SUBACK 0x80 (failure) for this filter.
                done(null, null);
              },
            }
          : {},
      );
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
      opts.logger.info({ url, protocol: 'MQTT 5 and 3.1.1' }, 'embedded MQTT broker listening');
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
