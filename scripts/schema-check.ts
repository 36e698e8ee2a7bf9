/**
 * `npm run schema:check`: the drift check. Builds two throwaway databases on the configured server, one
 * from initdb/init-complete.sql and one from the migration chain (psql -f each file), compares their
 * fingerprints (src/migrations/schema-fingerprint.ts), prints the first difference and exits 1 on drift. The
 * databases are dropped in every case.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadConfig, type Config } from '../src/config/load.js';
import { PACKAGE_ROOT } from '../src/lib/package-root.js';
import { connect, libpqEnv, quoteIdent, withClient } from '../src/lib/db.js';
import { ExitCode } from '../src/lib/errors.js';
import { createLogger, type Logger } from '../src/lib/logger.js';
import { psqlFile } from '../src/lib/psql-file.js';
import { migrationFiles } from '../src/migrations/folder.js';
import { fingerprintSchema, firstDifference } from '../src/migrations/schema-fingerprint.js';
import { runAsMain } from './run-as-main.js';

export interface SchemaCheckOptions {
  initFile?: string;
  migrationsDir?: string;
}

export interface SchemaCheckResult {
  /** The first difference between init-complete.sql and the chain; undefined when they agree. */
  drift: string | undefined;
  migrations: number;
}

export async function checkSchemaDrift(
  config: Readonly<Config>,
  deps: { logger: Logger },
  options: SchemaCheckOptions = {},
): Promise<SchemaCheckResult> {
  const initFile = options.initFile ?? join(PACKAGE_ROOT, 'initdb', 'init-complete.sql');
  const files = migrationFiles(options.migrationsDir ?? config.migrations.dir);
  const suffix = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  const initDb = `chatflow_schema_check_${suffix}_init`;
  const chainDb = `chatflow_schema_check_${suffix}_chain`;
  const db = config.database;
  const admin = await connect(db);
  try {
    await admin.query(`CREATE DATABASE ${quoteIdent(initDb)}`);
    await admin.query(`CREATE DATABASE ${quoteIdent(chainDb)}`);
    deps.logger.info({ initDb, chainDb, migrations: files.length }, 'building both schemas');
    await psqlFile(initFile, libpqEnv(db, initDb));
    for (const file of files) await psqlFile(file, libpqEnv(db, chainDb));
    const expected = await withClient(db, fingerprintSchema, initDb);
    const actual = await withClient(db, fingerprintSchema, chainDb);
    return {
      drift: firstDifference(expected, actual, ['init-complete.sql', 'migrations']),
      migrations: files.length,
    };
  } finally {
    for (const name of [initDb, chainDb]) {
      await admin
        .query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`)
        .catch((error: unknown) => {
          deps.logger.warn({ database: name, err: error }, 'could not drop a schema-check database');
        });
    }
    await admin.end().catch(() => undefined);
  }
}

await runAsMain(import.meta.url, async (context) => {
  const config = loadConfig();
  context.logger = createLogger(config.log);
  const result = await checkSchemaDrift(config, { logger: context.logger });
  if (result.drift === undefined) {
    process.stdout.write(
      `schema check: init-complete.sql and ${result.migrations} migrations build the same schema\n`,
    );
  } else {
    process.stdout.write(`schema check: DRIFT between init-complete.sql and migrations/\n${result.drift}\n`);
    process.exitCode = ExitCode.failed;
  }
});
