/**
 * The archive's SQL runs as a temporary role without superuser rights, even when the configured owner is a
 * superuser (as in the compose file): a function that the archive's own CHECK constraint calls while COPY
 * loads the rows runs with the restoring session's rights, and no text filter can see what it does
 * (EXECUTE of a built string). Such an archive fails to restore and nothing outside the scratch database
 * happened. Good archives still round-trip, everything ends up owned by the configured owner, and no
 * temporary role is left behind (nor one a killed restore left).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { adminQuery, dbEnv, dropRole, uniqueName, withDb } from '../../helpers/database.js';
import {
  databasesStartingWith,
  dropDatabasesStartingWith,
  logMessages,
  seed,
  snapshot,
  writeArchive,
} from './support.js';

const prefix = uniqueName('cfdb_rlp');
const victim = uniqueName('cfdb_victim');
const dir = mkdtempSync(join(tmpdir(), 'cfdb-restore-lp-'));
const marker = `/tmp/${uniqueName('cfdb_program_ran')}`;

/** A source database whose CHECK constraint runs `body` (PL/pgSQL) only inside a restore's database. */
async function hostileSource(name: string, body: string): Promise<void> {
  await adminQuery(`CREATE DATABASE "${name}"`);
  await seed(name);
  await withDb(name, (c) =>
    c.query(`
      CREATE FUNCTION public.looks_harmless(v integer) RETURNS boolean LANGUAGE plpgsql AS $f$
      BEGIN
        IF pg_catalog.current_database() LIKE '%\\_restore\\_%' THEN
          ${body}
        END IF;
        RETURN true;
      END $f$;
      CREATE TABLE public.guarded (v integer CHECK (public.looks_harmless(v)));
      INSERT INTO public.guarded VALUES (1), (2);
    `),
  );
}

const HOSTILE: { name: string; body: string }[] = [
  { name: 'alter_role', body: `EXECUTE 'ALTER ROLE ' || '"${victim}"' || ' SUPER' || 'USER';` },
  {
    name: 'program',
    body: `EXECUTE 'COPY (SELECT 1) TO PRO' || 'GRAM ' || quote_literal('touch ${marker}');`,
  },
  { name: 'read_file', body: `PERFORM length(pg_catalog.pg_read_file('/etc/host' || 'name'));` },
  { name: 'create_role', body: `EXECUTE 'CREATE ROLE ' || '"${victim}_new"';` },
];

async function restoreRoles(): Promise<string[]> {
  const { rows } = await adminQuery<{ rolname: string }>(
    "SELECT rolname FROM pg_roles WHERE rolname LIKE 'chatflow\\_restore\\_%' ORDER BY 1",
  );
  return rows.map((r) => r.rolname);
}

/** Of `roles`, those that still exist after up to 60 s (a concurrent restore's role is gone by then). */
async function rolesStillThere(roles: string[]): Promise<string[]> {
  let left = roles;
  for (let i = 0; i < 240 && left.length > 0; i++) {
    const existing = await restoreRoles();
    left = left.filter((r) => existing.includes(r));
    if (left.length > 0) await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return left;
}

function env(target: string): Record<string, string> {
  return { ...dbEnv(target), BACKUP_DIR: dir };
}

beforeAll(async () => {
  await adminQuery(`CREATE ROLE "${victim}" NOLOGIN`);
  for (const { name, body } of HOSTILE) {
    const source = `${prefix}_src_${name}`;
    await hostileSource(source, body);
    writeArchive(source, dir, name);
  }
  // What the temporary role may do as the scratch database's owner, but a plain dump never contains.
  await hostileSource(
    `${prefix}_src_dbprops`,
    `EXECUTE format('ALTER DATABASE %I SET search_path TO evil, public', current_database());
     EXECUTE format('ALTER DATABASE %I CONNECTION LIMIT 1', current_database());
     EXECUTE format('GRANT CREATE ON DATABASE %I TO PUBLIC', current_database());
     EXECUTE format('COMMENT ON DATABASE %I IS %L', current_database(), 'planted');`,
  );
  writeArchive(`${prefix}_src_dbprops`, dir, 'dbprops');
  await adminQuery(`CREATE DATABASE "${prefix}_src_good"`);
  await seed(`${prefix}_src_good`);
  // What `chatflow-db roles` leaves in a database: grants, and default privileges for the owner role.
  await withDb(`${prefix}_src_good`, (c) =>
    c.query(`GRANT SELECT ON public.users TO "${victim}";
      ALTER DEFAULT PRIVILEGES FOR ROLE postgres IN SCHEMA public GRANT SELECT ON TABLES TO "${victim}"`),
  );
  writeArchive(`${prefix}_src_good`, dir, 'good');
}, 120_000);

afterAll(async () => {
  try {
    await dropDatabasesStartingWith(prefix);
  } finally {
    await dropRole(victim);
    await dropRole(`${victim}_new`);
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('restore runs the archive without superuser rights', () => {
  it.each(HOSTILE.map((h) => h.name))(
    '%s: fails, the target and the server are unchanged',
    async (archive) => {
      const target = `${prefix}_t_${archive}`;
      await adminQuery(`CREATE DATABASE "${target}"`);
      await seed(target);
      const before = await snapshot(target);
      const rolesBefore = await restoreRoles();

      const result = await runCli(['restore', archive, '--no-migrate'], env(target));
      expect(result.code, result.stderr).toBe(1);
      expect(result.stderr).toMatch(/permission denied|must be superuser|insufficient privilege/i);

      expect(await snapshot(target)).toEqual(before);
      expect(await databasesStartingWith(`${target}_`)).toEqual([]);
      const victimRow = await adminQuery<{ rolsuper: boolean }>(
        'SELECT rolsuper FROM pg_roles WHERE rolname = $1',
        [victim],
      );
      expect(victimRow.rows).toEqual([{ rolsuper: false }]);
      const created = await adminQuery('SELECT 1 FROM pg_roles WHERE rolname = $1', [`${victim}_new`]);
      expect(created.rowCount).toBe(0);
      const file = await adminQuery<{ info: unknown }>('SELECT pg_stat_file($1, true) AS info', [marker]);
      expect(file.rows[0]?.info ?? null).toBeNull();
      // Other test files may be restoring meanwhile: their temporary roles come and go. This restore's role
      // is one that appeared during it, and it must not stay.
      const appeared = (await restoreRoles()).filter((r) => !rolesBefore.includes(r));
      expect(await rolesStillThere(appeared)).toEqual([]);
    },
  );

  it('database-level settings, limits, grants and comments the archive set on its database are undone', async () => {
    const target = `${prefix}_t_dbprops`;
    const result = await runCli(['restore', 'dbprops', '--no-migrate'], env(target));
    expect(result.code, result.stderr).toBe(0);
    const { rows } = await adminQuery<Record<string, unknown>>(
      `SELECT d.datconnlimit, d.datallowconn, shobj_description(d.oid, 'pg_database') AS comment,
              has_database_privilege('public', d.oid, 'CREATE') AS public_create,
              (SELECT count(*)::int FROM pg_db_role_setting s WHERE s.setdatabase = d.oid) AS settings
         FROM pg_database d WHERE datname = $1`,
      [target],
    );
    expect(rows).toEqual([
      { datconnlimit: -1, datallowconn: true, comment: null, public_create: false, settings: 0 },
    ]);
  });

  it('restores a good archive: everything owned by the configured owner, no temporary role left', async () => {
    const target = `${prefix}_t_good`;
    // A role a killed restore left behind (no database, no session): the next restore removes it.
    const stale = 'chatflow_restore_20200101000000_0123abcd';
    await adminQuery(`DROP ROLE IF EXISTS ${stale}`);
    await adminQuery(`CREATE ROLE ${stale} LOGIN`);
    const rolesBefore = await restoreRoles();

    const result = await runCli(['restore', 'good', '--no-migrate'], env(target));
    expect(result.code, result.stderr).toBe(0);
    expect(logMessages(result.stderr).some((m) => m.includes(stale))).toBe(true);
    expect(await snapshot(target)).toEqual(await snapshot(`${prefix}_src_good`));

    const owners = await withDb(target, (c) =>
      c.query<{ owner: string }>(
        `SELECT DISTINCT pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relnamespace = 'public'::regnamespace
         UNION SELECT pg_get_userbyid(proowner) FROM pg_proc WHERE pronamespace = 'public'::regnamespace
         UNION SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()`,
      ),
    );
    expect(owners.rows).toEqual([{ owner: 'postgres' }]);
    const grant = await withDb(target, (c) =>
      c.query<{ ok: boolean }>(`SELECT has_table_privilege('${victim}', 'public.users', 'SELECT') AS ok`),
    );
    expect(grant.rows).toEqual([{ ok: true }]);
    const appeared = (await restoreRoles()).filter((r) => !rolesBefore.includes(r));
    expect(await rolesStillThere([stale, ...appeared])).toEqual([]);
  });
});
