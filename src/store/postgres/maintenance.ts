import { RunError } from '../../errors.js';
import { homeTrustProblems, openHome } from '../home-check.js';
import { trustMessage } from '../policy.js';
import type { MaintenanceStore, StoreFinding } from '../roles.js';
import { liveDispatchers } from './dispatchers.js';
import { MIGRATIONS, SCHEMA_VERSION } from './migrations/index.js';
import { inTransaction, LOCAL_DIRS, type PgSession } from './session.js';

const MIGRATE_LOCK = 'conductor:migrate';

/** The schema version of the database, 0 when it has none. */
async function schemaVersion(s: PgSession): Promise<number> {
  const [t] = await s.q<{ t: string | null }>(`SELECT to_regclass('conductor.meta')::text AS t`);
  if (!t?.t) return 0;
  const rows = await s.q<{ value: string }>(`SELECT value FROM conductor.meta WHERE key = 'schema_version'`);
  return rows[0] ? Number(rows[0].value) : 0;
}

const newer = (s: PgSession, v: number) =>
  new RunError(`database ${s.location} has schema version ${v}, newer than this conductor (${SCHEMA_VERSION})`);

/** Applies the migrations the database lacks, each in its own transaction; returns [from, to]. */
function migrate(s: PgSession): Promise<[number, number]> {
  return s.locked(MIGRATE_LOCK, async (c) => {
    await c.query('CREATE SCHEMA IF NOT EXISTS conductor');
    await c.query('CREATE TABLE IF NOT EXISTS conductor.meta (key text PRIMARY KEY, value text NOT NULL)');
    const cur = await c.query(`SELECT value FROM conductor.meta WHERE key = 'schema_version'`);
    const from = cur.rows[0] ? Number(cur.rows[0].value) : 0;
    if (from > SCHEMA_VERSION) throw newer(s, from);
    for (let v = from + 1; v <= SCHEMA_VERSION; v++) {
      await inTransaction(c, async () => {
        await c.query(MIGRATIONS[v - 1]);
        await c.query(
          `INSERT INTO conductor.meta (key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO UPDATE SET value = $1`,
          [String(v)],
        );
      });
    }
    return [from, SCHEMA_VERSION] as [number, number];
  });
}

/** Opening, trust, the schema, upkeep and `health` for the PostgreSQL store. */
export function pgMaintenance(s: PgSession): MaintenanceStore {
  return {
    migrate: () => migrate(s),

    /**
     * A database without any conductor schema is set up on first use, as the
     * file store creates its home; one at an older version is left for an
     * explicit `conductor migrate`, since hosts may still run the old code.
     */
    async init(): Promise<void> {
      openHome(s.home, LOCAL_DIRS, s.named);
      const v = await schemaVersion(s);
      if (v === 0) {
        await migrate(s);
        return;
      }
      if (v < SCHEMA_VERSION)
        throw new RunError(
          `database ${s.location} has schema version ${v}, this conductor needs ${SCHEMA_VERSION}: run 'conductor migrate'`,
        );
      if (v > SCHEMA_VERSION) throw newer(s, v);
    },

    /**
     * Rows have no owner: whoever can write to the database decides what runs,
     * so its roles are the trust boundary. The local home (logs, the daemon's
     * files) is checked as the file store's is.
     */
    trustForRun(): void {
      const refused = trustMessage(homeTrustProblems(s.home, LOCAL_DIRS, process.geteuid!()));
      if (refused) throw new RunError(refused);
    },

    async close(): Promise<void> {
      await s.pool.end().catch(() => undefined);
    },

    async housekeep(): Promise<string[]> {
      await s.q(`DELETE FROM conductor.dispatchers WHERE seen_at < now() - interval '7 days'
                 AND owner NOT IN (SELECT owner FROM conductor.running)`);
      // Waits that ended without a claim (the dispatcher exited): see 005_slots.sql.
      await s.q(`DELETE FROM conductor.slot_waiters WHERE since < now() - interval '10 seconds'`);
      return [];
    },

    async healthFindings(): Promise<StoreFinding[]> {
      const v = await schemaVersion(s);
      const hosts = await liveDispatchers(s);
      const trust = homeTrustProblems(s.home, LOCAL_DIRS, process.geteuid!());
      return [
        {
          check: 'permissions',
          ok: trust.length === 0,
          message: trust.length ? trust.join('; ') : `home ${s.home} is private to its owner`,
        },
        {
          check: 'database',
          ok: v === SCHEMA_VERSION,
          message: `${s.location} at schema version ${v} (this conductor: ${SCHEMA_VERSION})`,
        },
        { check: 'dispatchers', ok: true, message: `${hosts} dispatcher(s) with a live lease` },
      ];
    },

    async listQuarantine(): Promise<{ file: string; reason: string }[]> {
      const rows = await s.q<{ id: string; source: string; reason: string }>(
        'SELECT id, source, reason FROM conductor.quarantine ORDER BY id',
      );
      return rows.map((r) => ({ file: `quarantine/${r.id} (${r.source})`, reason: r.reason }));
    },

    withLock<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
      return s.locked(`conductor:${name}`, async () => fn());
    },
  };
}
