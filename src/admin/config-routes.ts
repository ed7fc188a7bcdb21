import type { FastifyInstance } from 'fastify';
import type { Gateway } from '../gateway.js';
import { FieldError } from './schema/common.js';
import { applyConfig, configToYaml, describeChange, exportConfig, parseConfigText } from './config.js';

/** `?x=true|1|yes` / `false|0|no` / absent; anything else is a 400 naming the parameter. */
function flagParam(q: Record<string, string | undefined>, name: string): boolean {
  const v = q[name];
  if (v === undefined || v === '') return false;
  if (/^(1|true|yes)$/i.test(v)) return true;
  if (/^(0|false|no)$/i.test(v)) return false;
  throw new FieldError(name, 'must be true or false');
}

const YAML_TYPES = /^(application|text)\/(x-)?yaml\b|^text\/plain\b/i;

/**
 * CONTRACT "Configuration as data": `GET /admin/config` (`?format=yaml`, `?secrets=true`) and
 * `POST /admin/config` (JSON, or YAML with a YAML content type; `?dryRun=true`, `?prune=true`).
 */
export function registerConfigRoutes(scope: FastifyInstance, gw: Gateway): void {
  scope.get('/admin/config', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const format = (q.format ?? 'json').toLowerCase();
    if (format !== 'json' && format !== 'yaml') throw new FieldError('format', 'must be json or yaml');
    const secrets = flagParam(q, 'secrets');
    const doc = await exportConfig(gw, { secrets });
    if (secrets) req.log.info('configuration exported with the provider keys');
    if (format === 'yaml') return reply.type('application/yaml; charset=utf-8').send(configToYaml(doc));
    return doc;
  });

  scope.post('/admin/config', async (req) => {
    const q = req.query as Record<string, string | undefined>;
    const dryRun = flagParam(q, 'dryRun');
    const prune = flagParam(q, 'prune');
    let body: unknown = req.body;
    // JSON arrives parsed; any other type as bytes (text/plain: as a string, Fastify's own parser)
    if (Buffer.isBuffer(body) || typeof body === 'string') {
      const type = String(req.headers['content-type'] ?? '');
      if (!YAML_TYPES.test(type)) {
        throw new FieldError('body', `must be a configuration document sent as JSON (Content-Type: application/json) or YAML (Content-Type: application/yaml), got ${type ? `"${type.slice(0, 100)}"` : 'no Content-Type'}`);
      }
      body = parseConfigText(Buffer.isBuffer(body) ? body.toString('utf8') : body);
    }
    if (body === undefined || body === null) throw new FieldError('body', 'is empty: send a configuration document (GET /admin/config gives one)');
    const result = await applyConfig(gw, body, { dryRun, prune });
    if (!dryRun && result.changes.length > 0) {
      req.log.info({ changes: result.changes.length, prune }, `configuration applied: ${result.changes.map(describeChange).join('; ')}`);
    }
    return result;
  });
}
