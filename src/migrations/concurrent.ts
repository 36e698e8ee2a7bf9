/**
 * `CREATE INDEX CONCURRENTLY` that was interrupted (a killed migrate, a lost connection) leaves an INVALID
 * index behind: useless for queries, still maintained on every write, and `IF NOT EXISTS` would skip it
 * on the next run, recording the migration as applied with a broken index. The runner therefore drops an
 * invalid index of the same name before it runs such a statement. Pure: finds the index a statement builds.
 */

export interface ConcurrentIndex {
  /** The index name as stored in pg_class (unquoted; folded to lower case unless it was quoted). */
  index: string;
  /** The table as written, for to_regclass(). */
  table: string;
}

const IDENT = String.raw`(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)`;
const CREATE_CONCURRENTLY = new RegExp(
  String.raw`^CREATE\s+(?:UNIQUE\s+)?INDEX\s+CONCURRENTLY\s+(?:IF\s+NOT\s+EXISTS\s+)?(${IDENT})\s+ON\s+(?:ONLY\s+)?(${IDENT})(?:\s*\.\s*(${IDENT}))?`,
  'i',
);

export function concurrentIndex(statement: string): ConcurrentIndex | undefined {
  const match = CREATE_CONCURRENTLY.exec(statement);
  if (!match) return undefined;
  const name = match[1] as string;
  const index = name.startsWith('"') ? name.slice(1, -1).replace(/""/g, '"') : name.toLowerCase();
  return { index, table: match[3] === undefined ? (match[2] as string) : `${match[2]}.${match[3]}` };
}
