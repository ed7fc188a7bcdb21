import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Gateway } from '../gateway.js';
import { FieldError, parseWith } from './schema/common.js';
import { pricesDocumentSchema } from './schema/prices.js';
import { SHIPPED_PRICES, replacePrices, resetPrices } from '../telemetry/prices.js';

/**
 * The price table (CONTRACT "Prices and cost"):
 * - `GET /admin/prices` 200 `{"prices":[Price], "shipped", "shippedAsOf", "shippedSource"}`:
 *   the table in force; `shipped` says it is the shipped one (never set, or set back to it), the
 *   other two where the shipped table comes from and when it was written.
 * - `PUT /admin/prices` `{"prices":[Price]}`: replaces the whole table; 200 as GET. 400 naming the
 *   first bad field (`prices[2].input`), nothing changed. The answer's own extra fields may be sent
 *   back (ignored). A PUT of the shipped list is the same as a reset.
 * - `POST /admin/prices/reset`: back to the shipped table; 200 as GET.
 * - `GET /admin/prices/match?model=…` 200 `{"model","price":Price|null}`: the row a model is priced by.
 */
export function registerPriceRoutes(scope: FastifyInstance, gw: Gateway): void {
  const answer = () => ({
    prices: gw.telemetry.prices.list(),
    shipped: gw.telemetry.prices.shipped,
    shippedAsOf: SHIPPED_PRICES.asOf,
    shippedSource: SHIPPED_PRICES.source,
  });
  const bad = (reply: FastifyReply, err: FieldError) => reply.code(400).send({ error: { message: err.message, field: err.field } });

  scope.get('/admin/prices', async () => answer());

  scope.put('/admin/prices', async (req, reply) => {
    try {
      const doc = parseWith(pricesDocumentSchema, Buffer.isBuffer(req.body) ? null : req.body);
      await replacePrices(gw, doc.prices);
    } catch (err) {
      if (err instanceof FieldError) return bad(reply, err);
      throw err;
    }
    req.log.info({ rows: gw.telemetry.prices.list().length, shipped: gw.telemetry.prices.shipped }, 'price table replaced');
    return answer();
  });

  scope.post('/admin/prices/reset', async (req) => {
    await resetPrices(gw);
    req.log.info('price table reset to the shipped one');
    return answer();
  });

  scope.get('/admin/prices/match', async (req, reply) => {
    const model = (req.query as { model?: string }).model;
    if (typeof model !== 'string' || model.trim() === '' || model.length > 300) {
      return bad(reply, new FieldError('model', 'must be a model id, e.g. ?model=claude-sonnet-4-5'));
    }
    return { model, price: gw.telemetry.prices.lookup(model.trim()) };
  });
}
