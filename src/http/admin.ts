import express, { type Router } from 'express';
import type { OperatorLedger } from '../delivery/operator-ledger';
import type { DeliveryStatus } from '../delivery/status';
import { tokenMatches } from '../auth/token-auth';

const STATUSES = new Set(['pending', 'delivered', 'dead']);

/**
 * Operator endpoints, the HTTP twin of `chatops-bridge outbox`: `GET /admin/outbox?status=&alert=&limit=` and
 * `POST /admin/outbox/retry` with `{"ids":[…]}` or `{"allDead":true}`. Bearer token required (its own tokens,
 * never the webhook's); a retry never re-sends a delivered message.
 */
export function adminRouter(ledger: () => OperatorLedger, tokens: () => readonly string[], onRequeued: () => void): Router {
  const router = express.Router();
  router.use((req, res, next) => {
    const header = req.get('authorization') ?? '';
    const presented = header.startsWith('Bearer ') ? header.slice(7) : undefined;
    if (!tokenMatches(presented, tokens())) {
      res.status(401).json({ error: 'unauthorized' });
      return;
    }
    next();
  });
  router.get('/outbox', async (req, res) => {
    const status = typeof req.query.status === 'string' ? req.query.status : undefined;
    if (status !== undefined && !STATUSES.has(status)) {
      res.status(400).json({ error: 'invalid_query', message: 'status must be pending, delivered or dead' });
      return;
    }
    const alert = typeof req.query.alert === 'string' ? req.query.alert : undefined;
    const limit = Math.min(1000, Math.max(1, Number(req.query.limit) || 100));
    res.json({ deliveries: await ledger().list({ ...(status ? { status: status as DeliveryStatus } : {}), ...(alert ? { alertId: alert } : {}), limit }) });
  });
  router.post('/outbox/retry', express.json({ limit: '64kb' }), async (req, res) => {
    const body = (req.body ?? {}) as { ids?: unknown; allDead?: unknown };
    const ids = Array.isArray(body.ids) && body.ids.every((id) => Number.isInteger(id) && (id as number) > 0) ? (body.ids as number[]) : null;
    if (body.allDead !== true && (ids === null || ids.length === 0)) {
      res.status(400).json({ error: 'invalid_request', message: 'send {"ids":[1,2]} or {"allDead":true}' });
      return;
    }
    const result = await ledger().requeue(body.allDead === true ? 'all-dead' : ids!);
    if (result.requeued.length > 0) onRequeued();
    res.json(result);
  });
  return router;
}
