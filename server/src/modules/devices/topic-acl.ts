/**
 * Who may publish and subscribe where. One set of rules for the embedded broker's hooks and for
 * the Mosquitto ACL file that `mealcheck broker-config` writes.
 */
import { topics } from '../../../../common/contract.ts';

export type BrokerIdentity =
  | { kind: 'server' }
  | { kind: 'device'; centreId: string; deviceId: string }
  /** No credentials, accepted only while the registry is empty (see README, Delivery and security). */
  | { kind: 'anonymous' };

/** Topics a device publishes to: its own events, status and time requests, nothing else. */
export function devicePublishTopics(centreId: string, deviceId: string): string[] {
  return [topics.events(centreId, deviceId), topics.status(centreId, deviceId), topics.time(centreId, deviceId)];
}

/** Topics a device subscribes to: its own receipts and its centre's config. */
export function deviceSubscribeTopics(centreId: string, deviceId: string): string[] {
  return [topics.receipts(centreId, deviceId), topics.config(centreId)];
}

export function mayPublish(who: BrokerIdentity, topic: string): boolean {
  if (who.kind !== 'device') return true;
  return devicePublishTopics(who.centreId, who.deviceId).includes(topic);
}

/** `filter` must name one allowed topic exactly: a device gets no wildcards. */
export function maySubscribe(who: BrokerIdentity, filter: string): boolean {
  if (who.kind !== 'device') return true;
  return deviceSubscribeTopics(who.centreId, who.deviceId).includes(filter);
}
