/**
 * What kind of database `migrate` faces when it finds no tracking table. Pure: the runner reads the
 * catalog into an Inventory, this module decides.
 *   - tracked: chatflow_db.schema_migrations exists: the rows say what ran.
 *   - empty: nothing of anyone's in it: the chain runs from 001.
 *   - legacy: a ChatFlow database created by hand (SCHEMA.md "Legacy databases"): the chain runs from 001,
 *     each file converging what is there, and each is recorded.
 *   - unknown: someone else's objects: refused; `--baseline` is the explicit way forward.
 */

export interface DatabaseObject {
  schema: string;
  name: string;
  /** table, view, sequence, function, type, schema... */
  kind: string;
}

export interface Inventory {
  tracked: boolean;
  /** Objects outside the system schemas and chatflow_db that no extension owns. */
  objects: DatabaseObject[];
  /** Column names of public.users and public.phone_numbers, when those tables exist. */
  columns: { users?: readonly string[]; phoneNumbers?: readonly string[] };
}

export type DatabaseKind = 'tracked' | 'empty' | 'legacy' | 'unknown';

/** The columns that make public.users and public.phone_numbers ChatFlow's (present since the first SQL files). */
const LEGACY_USERS = ['username', 'email', 'password_hash', 'api_key'];
const LEGACY_PHONE_NUMBERS = ['user_id', 'phone_number', 'token'];

export function classifyDatabase(inventory: Inventory): DatabaseKind {
  if (inventory.tracked) return 'tracked';
  const { users, phoneNumbers } = inventory.columns;
  const hasAll = (columns: readonly string[] | undefined, wanted: string[]) =>
    columns !== undefined && wanted.every((column) => columns.includes(column));
  if (hasAll(users, LEGACY_USERS) && hasAll(phoneNumbers, LEGACY_PHONE_NUMBERS)) return 'legacy';
  return inventory.objects.length === 0 ? 'empty' : 'unknown';
}

/** "public.orders (table), public.orders_id_seq (sequence) and 12 more". */
export function describeObjects(objects: readonly DatabaseObject[], limit = 8): string {
  const names = objects
    .slice(0, limit)
    .map((o) => (o.kind === 'schema' ? `schema ${o.name}` : `${o.schema}.${o.name} (${o.kind})`));
  const rest = objects.length - names.length;
  return rest > 0 ? `${names.join(', ')} and ${rest} more` : names.join(', ');
}

export function unknownDatabaseMessage(database: string, inventory: Inventory): string {
  const { users, phoneNumbers } = inventory.columns;
  const near =
    users !== undefined || phoneNumbers !== undefined
      ? ` It has ${[users && 'public.users', phoneNumbers && 'public.phone_numbers'].filter(Boolean).join(' and ')}, ` +
        `but not with ChatFlow's columns (users: ${LEGACY_USERS.join(', ')}; phone_numbers: ${LEGACY_PHONE_NUMBERS.join(', ')}).`
      : '';
  return (
    `Refusing to migrate database "${database}": it has no migration tracking table (chatflow_db.schema_migrations) ` +
    `and is neither empty nor a legacy ChatFlow database. Found: ${describeObjects(inventory.objects)}.${near} ` +
    'If this is the ChatFlow database and its schema already matches the migrations up to some version, run ' +
    '`chatflow-db migrate --baseline <version>` to record those as applied without running them (later ones then run). ' +
    'Otherwise check PGDATABASE / DATABASE_URL: this may be the wrong database.'
  );
}
