import type { Kysely, Migration } from 'kysely';

export type Dialect = 'sqlite' | 'postgres';

/**
 * Migrations, in order. Each is written once for both engines; the only difference is how an
 * auto-incrementing key and a 64-bit integer are spelled. Never edit a shipped migration: add one.
 */
export function migrations(dialect: Dialect): Record<string, Migration> {
  const idType = dialect === 'postgres' ? 'serial' : 'integer';
  const big = dialect === 'postgres' ? 'bigint' : 'integer';
  const id = (c: any) => (dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement());
  return {
    '001_initial': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('providers')
          .addColumn('id', idType, id)
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('base_url', 'text', (c) => c.notNull())
          .addColumn('api_key', 'text', (c) => c.notNull())
          .addColumn('format', 'text', (c) => c.notNull())
          .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('cooldown_seconds', 'real')
          .addColumn('options', 'text', (c) => c.notNull().defaultTo('{}'))
          .addColumn('created_at', big, (c) => c.notNull())
          .execute();
        await db.schema
          .createTable('provider_models')
          .addColumn('provider_id', 'integer', (c) => c.notNull())
          .addColumn('model_id', 'text', (c) => c.notNull())
          .addColumn('fetched_at', big, (c) => c.notNull())
          .addPrimaryKeyConstraint('provider_models_pk', ['provider_id', 'model_id'])
          .execute();
        await db.schema
          .createTable('pool_members')
          .addColumn('id', idType, id)
          .addColumn('pool', 'text', (c) => c.notNull())
          .addColumn('provider_id', 'integer', (c) => c.notNull())
          .addColumn('model', 'text', (c) => c.notNull())
          .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('weight', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('cooldown_until', big)
          .addColumn('last_error', 'text')
          .addColumn('created_at', big, (c) => c.notNull())
          .addUniqueConstraint('pool_members_unique', ['pool', 'provider_id', 'model'])
          .execute();
        await db.schema.createIndex('pool_members_provider').on('pool_members').column('provider_id').execute();
        await db.schema
          .createTable('admin_sessions')
          .addColumn('token_hash', 'text', (c) => c.primaryKey())
          .addColumn('expires_at', big, (c) => c.notNull())
          .execute();
      },
      async down(db: Kysely<any>) {
        for (const t of ['admin_sessions', 'pool_members', 'provider_models', 'providers']) {
          await db.schema.dropTable(t).ifExists().execute();
        }
      },
    },
    '002_request_logs': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('request_logs')
          .addColumn('id', idType, id)
          .addColumn('ts', big, (c) => c.notNull())
          .addColumn('entry_format', 'text', (c) => c.notNull())
          .addColumn('requested_model', 'text', (c) => c.notNull())
          .addColumn('pool', 'text')
          .addColumn('provider_id', 'integer')
          .addColumn('provider_name', 'text')
          .addColumn('upstream_model', 'text')
          .addColumn('status', 'integer', (c) => c.notNull())
          .addColumn('latency_ms', 'real', (c) => c.notNull())
          .addColumn('ttft_ms', 'real')
          .addColumn('input_tokens', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('output_tokens', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('cache_read_tokens', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('cache_creation_tokens', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('stream', 'integer', (c) => c.notNull().defaultTo(0))
          .addColumn('attempts', 'text', (c) => c.notNull().defaultTo('[]'))
          .addColumn('error', 'text')
          .addColumn('request_body', 'text')
          .addColumn('response_body', 'text')
          .execute();
        await db.schema.createIndex('request_logs_ts').on('request_logs').column('ts').execute();
        await db.schema.createIndex('request_logs_pool_ts').on('request_logs').columns(['pool', 'ts']).execute();
        await db.schema.createIndex('request_logs_provider_ts').on('request_logs').columns(['provider_id', 'ts']).execute();
        await db.schema
          .createTable('settings')
          .addColumn('key', 'text', (c) => c.primaryKey())
          .addColumn('value', 'text', (c) => c.notNull())
          .execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropTable('request_logs').ifExists().execute();
        await db.schema.dropTable('settings').ifExists().execute();
      },
    },
    '003_access_keys': {
      async up(db: Kysely<any>) {
        await db.schema
          .createTable('access_keys')
          .addColumn('id', idType, id)
          .addColumn('name', 'text', (c) => c.notNull())
          .addColumn('key_hash', 'text', (c) => c.notNull().unique())
          .addColumn('key_last4', 'text', (c) => c.notNull())
          .addColumn('pools', 'text', (c) => c.notNull())
          .addColumn('rpm', 'integer')
          .addColumn('max_concurrent', 'integer')
          .addColumn('expires_at', big)
          .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
          .addColumn('created_at', big, (c) => c.notNull())
          .addColumn('last_used_at', big)
          .execute();
        await db.schema.alterTable('request_logs').addColumn('key_id', 'integer').execute();
        await db.schema.alterTable('request_logs').addColumn('key_name', 'text').execute();
        await db.schema.createIndex('request_logs_key_ts').on('request_logs').columns(['key_id', 'ts']).execute();
        // Sessions opened with the default password from another machine may only set a new one.
        await db.schema.alterTable('admin_sessions').addColumn('must_change', 'integer', (c) => c.notNull().defaultTo(0)).execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropTable('access_keys').ifExists().execute();
      },
    },
    '004_conversations': {
      async up(db: Kysely<any>) {
        // CONTRACT "Conversations and member capabilities": per-pool affinity (no row: "session"),
        // what a member's model can hold (null: unknown), and each request's conversation.
        await db.schema
          .createTable('pools')
          .addColumn('name', 'text', (c) => c.primaryKey())
          .addColumn('affinity', 'text', (c) => c.notNull().defaultTo('session'))
          .execute();
        for (const table of ['pool_members', 'provider_models']) {
          await db.schema.alterTable(table).addColumn('context_window', 'integer').execute();
          await db.schema.alterTable(table).addColumn('vision', 'integer').execute();
        }
        await db.schema.alterTable('request_logs').addColumn('conversation', 'text').execute();
        await db.schema.alterTable('request_logs').addColumn('affinity', 'text', (c) => c.notNull().defaultTo('none')).execute();
        await db.schema.createIndex('request_logs_conversation_ts').on('request_logs').columns(['conversation', 'ts']).execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropTable('pools').ifExists().execute();
      },
    },
    '005_provider_keys': {
      async up(db: Kysely<any>) {
        // CONTRACT "Provider keys": several keys per provider, each sealed like providers.api_key
        // (which stays the first key, for older versions) and with its own cooldown.
        await db.schema
          .createTable('provider_keys')
          .addColumn('id', idType, id)
          .addColumn('provider_id', 'integer', (c) => c.notNull())
          .addColumn('position', 'integer', (c) => c.notNull())
          .addColumn('api_key', 'text', (c) => c.notNull())
          .addColumn('cooldown_until', big)
          .addColumn('last_error', 'text')
          .addColumn('created_at', big, (c) => c.notNull())
          .execute();
        await db.schema.createIndex('provider_keys_provider').on('provider_keys').columns(['provider_id', 'position']).execute();
        // The key each provider holds becomes its first key, copied as stored (sealed, or plain text
        // from an older version: the start-up pass seals it).
        await db.insertInto('provider_keys')
          .columns(['provider_id', 'position', 'api_key', 'created_at'])
          .expression(db.selectFrom('providers').select((eb) => ['id', eb.lit(0).as('position'), 'api_key', 'created_at']).where('api_key', '<>', ''))
          .execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropTable('provider_keys').ifExists().execute();
      },
    },
    '006_prices': {
      async up(db: Kysely<any>) {
        // CONTRACT "Prices and cost": the price table (USD per million tokens, in its order; filled
        // from the shipped file at start while no admin has set it) and each request's cost (null:
        // no price matched its model; rows logged before this migration have none).
        const dbl = dialect === 'postgres' ? 'double precision' : 'real';
        await db.schema
          .createTable('prices')
          .addColumn('position', 'integer', (c) => c.primaryKey())
          .addColumn('match', 'text', (c) => c.notNull())
          .addColumn('input', dbl, (c) => c.notNull())
          .addColumn('output', dbl, (c) => c.notNull())
          .addColumn('cache_read', dbl, (c) => c.notNull())
          .addColumn('cache_write', dbl, (c) => c.notNull())
          .execute();
        await db.schema.alterTable('request_logs').addColumn('cost_usd', dbl).execute();
        await db.schema.alterTable('request_logs').addColumn('cache_savings_usd', dbl).execute();
      },
      async down(db: Kysely<any>) {
        await db.schema.dropTable('prices').ifExists().execute();
      },
    },
  };
}

