import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Gateway } from '../gateway.js';
import { accessKeyJson, hashSecret, newSecret, type AccessKey } from '../access/keys.js';
import type { KeyUsage } from '../store/access-keys.js';
import { parseAccessKeyInput, parseId } from './validate.js';

const NO_USAGE: KeyUsage = { requests: 0, errors: 0, inputTokens: 0, outputTokens: 0 };

/** /admin/keys: client access keys (CONTRACT "Access keys"). The secret is shown once, at creation. */
export function registerKeyRoutes(scope: FastifyInstance, gw: Gateway): void {
  const keyJson = (k: AccessKey, usage?: KeyUsage) => {
    // The last-used time seen in this process may be newer than the stored one.
    const live = gw.access.key(k.id);
    const lastUsedAt = Math.max(k.lastUsedAt ?? 0, live?.lastUsedAt ?? 0) || null;
    return { ...accessKeyJson({ ...k, lastUsedAt }), usage: usage ?? NO_USAGE };
  };

  const keyOr404 = async (req: FastifyRequest, reply: FastifyReply): Promise<AccessKey | null> => {
    const id = parseId((req.params as { id: string }).id);
    const k = id === null ? null : await gw.keys.get(id);
    if (!k) reply.code(404).send({ error: { message: 'no such access key' } });
    return k;
  };

  scope.get('/admin/keys', async () => {
    const [keys, usage] = await Promise.all([gw.keys.list(), gw.keys.usage()]);
    return { keys: keys.map((k) => keyJson(k, usage.get(k.id))) };
  });

  scope.post('/admin/keys', async (req, reply) => {
    const input = parseAccessKeyInput(req.body, false);
    const secret = newSecret();
    const k = await gw.keys.create({ ...input, name: input.name!, pools: input.pools! }, hashSecret(secret), secret.slice(-4));
    await gw.changed();
    req.log.info({ key: k.name, id: k.id }, 'access key created');
    return reply.code(201).send({ ...keyJson(k), key: secret });
  });

  scope.get('/admin/keys/:id', async (req, reply) => {
    const k = await keyOr404(req, reply);
    if (!k) return reply;
    return keyJson(k, (await gw.keys.usage()).get(k.id));
  });

  scope.patch('/admin/keys/:id', async (req, reply) => {
    const k = await keyOr404(req, reply);
    if (!k) return reply;
    const updated = await gw.keys.update(k.id, parseAccessKeyInput(req.body, true));
    await gw.changed();
    return keyJson(updated!, (await gw.keys.usage()).get(k.id));
  });

  scope.delete('/admin/keys/:id', async (req, reply) => {
    const k = await keyOr404(req, reply);
    if (!k) return reply;
    await gw.keys.delete(k.id);
    await gw.changed();
    req.log.info({ key: k.name, id: k.id }, 'access key deleted');
    if (gw.access.open) req.log.warn('that was the last access key: /v1/* is open to anyone who can reach the gateway again (disable a key instead of deleting it to keep access closed)');
    return reply.code(204).send();
  });
}
