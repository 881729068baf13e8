/**
 * `serve` on a PostgreSQL store (serve-store.ts loads this module only then): the engine, the LISTEN/NOTIFY
 * wake-ups between replicas and this replica's row in the replicas table.
 */
import type { Logger } from 'pino';
import { currentOwner, type StoreOwner } from '../store-owner';
import { cachedProbe, type ServedStore, type StoreWakes } from '../served-store';
import { PostgresEngine } from './postgres-engine';
import { pgPassword, redactPgUrl } from './pool';
import { beatReplica, forgetReplica, REPLICA_HEARTBEAT_MS, type ClockReading } from './pg-replicas';
import { PgWakeAnnouncer, PgWakeListener, wakeChannel } from './pg-wake';

/** Opens the PostgreSQL store for `serve`: see openServedStore. */
export async function openPostgres(url: string, logger: Logger): Promise<ServedStore> {
  const owner = currentOwner();
  const { instanceId } = owner;
  let engine: PostgresEngine;
  try {
    engine = await PostgresEngine.open(url, instanceId, logger);
  } catch (error) {
    // The driver's message names the host or the refusal, never the password; the URL is shown redacted.
    throw new Error(`cannot open the PostgreSQL store ${redactPgUrl(url)}: ${(error as Error).message}`);
  }
  logger.info({ store: redactPgUrl(url), instanceId }, 'store opened (PostgreSQL); this replica serves it beside any others');
  const pending = (await engine.counts()).pending;
  if (pending > 0) logger.info({ pending }, 'pending deliveries in the store');
  const writable = cachedProbe(() => engine.isWritable());
  const wakes = await storeWakes(engine, url, logger);
  const registry = registerReplica(engine, owner, logger);
  return {
    engine,
    instanceId,
    wakes,
    health: async () => ({ ok: await writable() }),
    close: async () => {
      await wakes.close();
      await registry.stop();
      await engine.close();
    },
  };
}

/** The store's LISTEN/NOTIFY wake-ups, on the channel of its schema; `close` ends them before the pool closes. */
async function storeWakes(engine: PostgresEngine, url: string, logger: Logger): Promise<StoreWakes & { close(): Promise<void> }> {
  const channel = await wakeChannel(engine.pool);
  const announce = new PgWakeAnnouncer(engine.pool, channel, engine.instanceId, logger);
  const listeners = new Set<PgWakeListener>();
  const secrets = [url, pgPassword(url)].filter((s): s is string => Boolean(s));
  return {
    announce,
    listen: (targets) => {
      const listener = new PgWakeListener(targets, { url, channel, instanceId: engine.instanceId, logger, secrets });
      listeners.add(listener);
      listener.start();
      return {
        stop: async () => {
          listeners.delete(listener);
          await listener.stop();
        },
      };
    },
    close: async () => {
      announce.close();
      await Promise.all([...listeners].map((l) => l.stop()));
      listeners.clear();
    },
  };
}

/**
 * Keeps this replica's row in `replicas` (who serves the database, and each one's clock skew, for `doctor`), renewed
 * every {@link REPLICA_HEARTBEAT_MS}. A missed beat is only logged: the database's loss shows in /readyz already.
 */
function registerReplica(engine: PostgresEngine, owner: StoreOwner, logger: Logger): { stop(): Promise<void> } {
  let reading: ClockReading | undefined;
  let beating: Promise<void> | undefined;
  let stopped = false;
  // One beat at a time: with a slow database, overlapping beats could re-insert the row after stop() removed it.
  const beat = () => {
    if (beating || stopped) return;
    beating = beatReplica(engine.pool, owner, reading)
      .then((recorded) => void (reading = recorded))
      .catch((error: unknown) => logger.debug({ err: (error as Error).message }, 'replica heartbeat not recorded'))
      .finally(() => (beating = undefined));
  };
  beat();
  const timer = setInterval(beat, REPLICA_HEARTBEAT_MS);
  timer.unref();
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await beating;
      await forgetReplica(engine.pool, owner.instanceId).catch(() => undefined);
    },
  };
}
