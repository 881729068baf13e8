import type { Destination, SendOutcome } from '../destinations/types';
import type { Pacer } from './pacer';
import type { StoreEngine } from './store-contract';

/** How many short waits for the channel one send makes before it hands the send back (the channel stays busy). */
const MAX_LOOKS = 5;

/** What the sender needs of the worker that owns it. */
export interface PacedSenderHost {
  /** False once the worker stops: a send then never waits for its channel. */
  running(): boolean;
  /** Reports a store failure of the shared pace (logged, counted; the send is retried later). */
  failed(error: unknown, context: Record<string, unknown>): void;
}

/**
 * The delivery worker's sends, paced per channel twice: by this process's pacer (pacer.ts: sliding window,
 * Retry-After holds, posts and edits taking turns) and by the pace the store shares between processes (several
 * replicas on PostgreSQL keep one channel's limit together; on SQLite it is always free). A 429 holds the channel
 * for every process. Each request counts in the shared pace from its end, as in the pacer: whoever took its slot
 * ends it once the request is over (or frees it when the request was never made).
 */
export class PacedSender {
  constructor(
    private readonly store: Pick<StoreEngine, 'takeChannel' | 'endChannel' | 'holdChannel'>,
    private readonly pacer: Pacer,
    private readonly host: PacedSenderHost,
  ) {}

  /**
   * One send. `claimedAt`: the claim already took this send's slot of the shared pace at that time (its first
   * send); the slot is ended here either way.
   */
  async send(destination: Destination, body: unknown, send: (body: unknown) => Promise<SendOutcome> = (b) => destination.send(b), claimedAt?: number): Promise<SendOutcome> {
    let takenAt = claimedAt;
    if (takenAt === undefined) {
      const slot = await this.sharedSlot(destination);
      if ('held' in slot) return slot.held;
      takenAt = slot.takenAt;
    }
    let made = false;
    let outcome: SendOutcome | undefined;
    try {
      outcome = await this.paced(destination, body, (b) => {
        made = true;
        return send(b);
      });
    } finally {
      await this.endSlot(destination, takenAt, made ? Date.now() : undefined);
    }
    if (outcome.kind === 'retryable' && outcome.rateLimited && outcome.retryAfterMs !== undefined) {
      const now = Date.now();
      // Best effort: this process's pacer holds the channel anyway; the others learn it from the store.
      await this.store.holdChannel(destination.pacingKey, now + outcome.retryAfterMs, now).catch((error: unknown) => this.host.failed(error, { destination: destination.name }));
    }
    return outcome;
  }

  /**
   * Ends the shared slot taken at `takenAt` for a request that ended at `endedAt`, or frees it when the request was
   * never made (a claimed delivery that could not be prepared). Best effort: a slot left open stops counting
   * on its own after a few seconds (channel-pace.ts).
   */
  async endSlot(destination: Destination, takenAt: number, endedAt?: number): Promise<void> {
    await this.store.endChannel(destination.pacingKey, takenAt, endedAt).catch((error: unknown) => this.host.failed(error, { destination: destination.name }));
  }

  /**
   * A slot of the channel's shared pace (and when it was taken), waited for up to one window; else an outcome that
   * hands the send back (rate-limited, so not counted as a failure). A store that cannot answer hands it back too:
   * sending without the slot could break the channel's limit, and a store error must never read as a refused message.
   */
  private async sharedSlot(destination: Destination): Promise<{ takenAt: number } | { held: SendOutcome }> {
    const pace = { key: destination.pacingKey, ...destination.pacing };
    try {
      let takenAt = Date.now();
      let wait = await this.store.takeChannel(pace, takenAt);
      if (wait > 0 && wait <= destination.pacing.windowMs && this.host.running()) {
        await new Promise((resolve) => setTimeout(resolve, wait));
        takenAt = Date.now();
        wait = await this.store.takeChannel(pace, takenAt);
      }
      return wait > 0 ? { held: { kind: 'retryable', reason: 'channel on hold', rateLimited: true, retryAfterMs: wait } } : { takenAt };
    } catch (error) {
      this.host.failed(error, { destination: destination.name });
      return { held: { kind: 'retryable', reason: 'store unavailable for the channel pace', rateLimited: true, retryAfterMs: destination.pacing.windowMs } };
    }
  }

  /** This process's pace: waits for a short gap, hands a long hold (Retry-After) or a send at shutdown back. */
  private async paced(destination: Destination, body: unknown, send: (body: unknown) => Promise<SendOutcome>): Promise<SendOutcome> {
    // Claims are paced already; this wait matters for a second send in one attempt (the minimal fallback), and for a
    // request another loop of this process (an edit, a reminder) began on the channel between the claim and now.
    // Looked at again after each wait: a request in flight counts as ending now, and it may end later than that.
    for (let looks = 0; ; looks++) {
      const wait = this.pacer.readyAt(destination.pacingKey, destination.pacing, Date.now(), 'post') - Date.now();
      if (wait <= 0) break;
      if (!this.host.running() || wait > destination.pacing.windowMs || looks >= MAX_LOOKS) {
        return { kind: 'retryable', reason: 'channel on hold', rateLimited: true, retryAfterMs: wait };
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    return this.pacer.request(destination.pacingKey, destination.pacing, 'post', () => send(body));
  }
}
