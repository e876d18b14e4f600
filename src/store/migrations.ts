import type { SqliteDatabase } from './sqlite.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * Schema history, oldest first. Never edit a released migration: append a new one. The applied version
 * is kept in `PRAGMA user_version`, so the schema and its version change in one transaction.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
      CREATE TABLE kv (
        key        TEXT PRIMARY KEY,
        value      TEXT NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE manifests (
        hash       TEXT PRIMARY KEY,
        manifest   TEXT NOT NULL,  -- the public manifest as JSON; private values never go here
        created_at INTEGER NOT NULL
      );
      CREATE TABLE pods (
        hash           TEXT PRIMARY KEY,
        state          TEXT NOT NULL CHECK (state IN ('starting', 'running', 'terminating')),
        started_at     INTEGER NOT NULL,
        expires_at     INTEGER NOT NULL,
        memory_mib     INTEGER NOT NULL,
        total_uptime_s INTEGER NOT NULL DEFAULT 0,
        port           INTEGER,
        ip             TEXT,
        updated_at     INTEGER NOT NULL
      );
      CREATE INDEX pods_by_expiry ON pods (expires_at);
      CREATE TABLE peers (
        uri                  TEXT PRIMARY KEY,
        added_at             INTEGER NOT NULL,
        last_seen_at         INTEGER,
        consecutive_failures INTEGER NOT NULL DEFAULT 0
      );
      CREATE TABLE ledger (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        at             INTEGER NOT NULL,
        manifest_hash  TEXT,
        amount         TEXT NOT NULL,    -- integer in base units; may exceed 2^53
        asset_code     TEXT NOT NULL,
        asset_scale    INTEGER NOT NULL,
        purpose        TEXT NOT NULL,
        pay_token_hash TEXT              -- sha256 of the pay token, never the token
      );
      CREATE INDEX ledger_by_manifest ON ledger (manifest_hash);
    `,
  },
  {
    version: 2,
    name: 'sealed private vars, so paid pods can be recreated',
    sql: `
      -- AES-256-GCM sealed JSON of the request's private vars (see pods/private-vars.ts); NULL when none.
      ALTER TABLE manifests ADD COLUMN private_vars TEXT;
      CREATE INDEX pods_by_state ON pods (state);
    `,
  },
  {
    version: 3,
    name: 'ledger credit column: paid but not yet served, per manifest',
    sql: `
      -- Signed change of the manifest's credit balance, integer base units as text (may exceed 2^53).
      ALTER TABLE ledger ADD COLUMN credit TEXT NOT NULL DEFAULT '0';
    `,
  },
  {
    version: 4,
    name: 'images codiusd pulled, for their removal once unused',
    sql: `
      CREATE TABLE images (
        reference    TEXT PRIMARY KEY,  -- as the manifest names it
        pulled_at    INTEGER NOT NULL,
        last_used_at INTEGER NOT NULL   -- when a pod last started with it
      );
      CREATE INDEX images_by_last_use ON images (last_used_at);
    `,
  },
  {
    version: 5,
    name: "pods' own ILP accounts: what each manifest's pod holds, kept after it expires",
    sql: `
      CREATE TABLE pod_accounts (
        hash        TEXT PRIMARY KEY,
        balance     TEXT NOT NULL,     -- integer in base units, never negative; may exceed 2^53
        asset_code  TEXT NOT NULL,
        asset_scale INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: 'payments in flight: every amount fulfilled, written before its fulfillment, until a ledger line books it',
    sql: `
      CREATE TABLE payment_packets (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        at             INTEGER NOT NULL,
        pay_token_hash TEXT NOT NULL,
        manifest_hash  TEXT NOT NULL,
        amount         TEXT NOT NULL,  -- integer in base units, positive; may exceed 2^53
        asset_code     TEXT NOT NULL,
        asset_scale    INTEGER NOT NULL
      );
      CREATE INDEX payment_packets_token ON payment_packets (pay_token_hash);
    `,
  },
  {
    version: 7,
    name: 'ledger lines name their payment method and the payment itself; a payment books money once',
    sql: `
      ALTER TABLE ledger ADD COLUMN method TEXT NOT NULL DEFAULT 'stream';
      ALTER TABLE ledger ADD COLUMN payment_ref TEXT;
      CREATE UNIQUE INDEX ledger_money_once ON ledger (payment_ref) WHERE payment_ref IS NOT NULL AND amount != '0';
    `,
  },
  {
    version: 8,
    name: 'Open Payments offers: each incoming payment made for a pay token, recorded before it is offered',
    sql: `
      CREATE TABLE open_payments (
        pay_token_hash   TEXT PRIMARY KEY,
        incoming_payment TEXT NOT NULL UNIQUE,
        manifest_hash    TEXT NOT NULL,
        use              TEXT NOT NULL,     -- upload | extend
        duration_seconds INTEGER NOT NULL,
        amount           TEXT NOT NULL,     -- asked, in base units
        asset_code       TEXT NOT NULL,
        asset_scale      INTEGER NOT NULL,
        wallet_address   TEXT NOT NULL,
        created_at       INTEGER NOT NULL,
        expires_at       INTEGER NOT NULL,
        settled_at       INTEGER             -- booked (as time or credit), or expired unpaid
      );
      CREATE INDEX open_payments_open ON open_payments (expires_at) WHERE settled_at IS NULL;
    `,
  },
  {
    version: 9,
    name: 'renewals',
    sql: `
      -- Pods a tenant keeps running from their Open Payments wallet: one renewal per manifest.
      CREATE TABLE renewals (
        manifest_hash    TEXT PRIMARY KEY,
        wallet_json      TEXT NOT NULL,    -- the tenant's wallet as its provider described it
        grant_sealed     TEXT NOT NULL,    -- access token and manage URL, sealed with the host secret
        duration_seconds INTEGER NOT NULL, -- bought at each renewal
        interval_text    TEXT NOT NULL,    -- the grant's ISO 8601 repeating interval
        next_at          INTEGER NOT NULL,
        active           INTEGER NOT NULL,
        stop_reason      TEXT,
        stop_key_hash    TEXT NOT NULL UNIQUE, -- sha256 of the tenant's stop link's key
        renewed          INTEGER NOT NULL DEFAULT 0,
        created_at       INTEGER NOT NULL
      );
      CREATE INDEX renewals_due ON renewals (next_at) WHERE active = 1;
    `,
  },
];

export class SchemaTooNewError extends Error {
  constructor(found: number, supported: number) {
    super(
      `the store has schema version ${found}, newer than this codiusd supports (${supported}); upgrade codiusd`,
    );
    this.name = 'SchemaTooNewError';
  }
}

/** Brings the schema up to date; returns the versions applied. */
export async function migrate(
  db: SqliteDatabase,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  const row = await db.get<{ user_version: number }>('PRAGMA user_version');
  const current = row?.user_version ?? 0;
  const latest = migrations.at(-1)?.version ?? 0;
  if (current > latest) throw new SchemaTooNewError(current, latest);

  const applied: number[] = [];
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    await db.transaction(async (tx) => {
      await tx.exec(migration.sql);
      // PRAGMA takes no bound parameters; the version is a number from this file.
      await tx.exec(`PRAGMA user_version = ${Math.trunc(migration.version)}`);
    });
    applied.push(migration.version);
  }
  return applied;
}
