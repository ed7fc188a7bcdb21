import { useI18n, type MessageKey, type T } from '../i18n';
import type { PoolName } from '../api/types';
import { POOL_LABEL } from '../lib/pools';
import { fieldMessage, type ApiError } from '../api/client';
import { explainError, type ExplainKey, type Explanation } from './explain';

/** The message of each explanation (a missing one fails the type check). */
const MESSAGE: Record<ExplainKey, MessageKey> = {
  refused: 'explain.refused',
  refusedAt: 'explain.refusedAt',
  dns: 'explain.dns',
  dnsHost: 'explain.dnsHost',
  unreachable: 'explain.unreachable',
  connectTimeout: 'explain.connectTimeout',
  reset: 'explain.reset',
  tls: 'explain.tls',
  timeout: 'explain.timeout',
  timeoutAfter: 'explain.timeoutAfter',
  firstByteTimeout: 'explain.firstByteTimeout',
  totalTimeout: 'explain.totalTimeout',
  idleTimeout: 'explain.idleTimeout',
  auth: 'explain.auth',
  forbidden: 'explain.forbidden',
  quota: 'explain.quota',
  modelNotFound: 'explain.modelNotFound',
  notFound: 'explain.notFound',
  rateLimited: 'explain.rateLimited',
  overloaded: 'explain.overloaded',
  serverError: 'explain.serverError',
  badRequest: 'explain.badRequest',
  contextTooLong: 'explain.contextTooLong',
  emptyAnswer: 'explain.emptyAnswer',
  streamBroke: 'explain.streamBroke',
  notJson: 'explain.notJson',
  noModelList: 'explain.noModelList',
  noMember: 'explain.noMember',
  emptyPool: 'explain.emptyPool',
  modelNotServed: 'explain.modelNotServed',
  restarting: 'explain.restarting',
  unknownField: 'explain.unknownField',
  unknownFieldMeant: 'explain.unknownFieldMeant',
  duplicateName: 'explain.duplicateName',
  keyForNewOrigin: 'explain.keyForNewOrigin',
  throttled: 'explain.throttled',
  passwordRequired: 'explain.passwordRequired',
  unknownRoute: 'explain.unknownRoute',
  sessionExpired: 'explain.sessionExpired',
  gone: 'explain.gone',
  fieldRequired: 'explain.fieldRequired',
  fieldBoolean: 'explain.fieldBoolean',
  fieldIntRange: 'explain.fieldIntRange',
  fieldUrl: 'explain.fieldUrl',
  fieldTooLong: 'explain.fieldTooLong',
  fieldMinLength: 'explain.fieldMinLength',
  fieldPast: 'explain.fieldPast',
};

/** An explanation in the reader's language (a pool's name as the UI calls it). */
export function explanationText(e: Explanation, t: T): string {
  const params = { ...e.params };
  const pool = params.pool;
  if (typeof pool === 'string' && pool in POOL_LABEL) params.pool = t(POOL_LABEL[pool as PoolName]);
  return t(MESSAGE[e.key], params);
}

/** A raw error text said in the reader's language when it is recognised; otherwise the text itself. */
export function localizedError(raw: string, t: T, status?: number | null): string {
  const e = explainError(raw, { status });
  return e ? explanationText(e, t) : raw;
}

/** An admin API field error, for under its field: in the UI's language when recognised, else without the "field: " prefix. */
export function localizedFieldError(err: ApiError, t: T): string {
  const e = explainError(err.message);
  return e ? explanationText(e, t) : fieldMessage(err);
}

/**
 * A server error as a person reads it: what it means in the UI's language, and the raw text one
 * click away (a `<details>`). Unrecognised text is shown as it is. `status`: the upstream status
 * when it is known apart from the text. Test ids: `testId` on the whole, `-text`, `-toggle`, `-raw`.
 */
export function ExplainedError({ raw, status, testId, className }: { raw: string; status?: number | null; testId?: string; className?: string }) {
  const { t } = useI18n();
  const e = explainError(raw, { status });
  if (!e) {
    return (
      <div className={`explained${className ? ` ${className}` : ''}`} data-testid={testId} data-explain="raw">
        <span className="break" data-testid={testId && `${testId}-text`}>
          {raw}
        </span>
      </div>
    );
  }
  return (
    <div className={`explained${className ? ` ${className}` : ''}`} data-testid={testId} data-explain={e.key}>
      <span className="explained-text" data-testid={testId && `${testId}-text`}>
        {explanationText(e, t)}
      </span>
      <details className="raw-detail">
        <summary data-testid={testId && `${testId}-toggle`}>{t('explain.raw')}</summary>
        <code className="mono break raw-text" data-testid={testId && `${testId}-raw`}>
          {raw}
        </code>
      </details>
    </div>
  );
}
