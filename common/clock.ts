/** Time and ids are injected so meal windows and dedupe are pure and tests need no fake timers. */
import { v7 as uuidv7 } from 'uuid';

export interface Clock {
  now(): Date;
}
export interface Ids {
  next(): string;
}
export const systemClock: Clock = { now: () => new Date() };
export const uuidV7Ids: Ids = { next: () => uuidv7() };
