/** Names of the databases a restore creates next to its target. Pure, so unit-tested. */
import { wallClockStamp } from '../lib/clock.js';
import { UsageError } from '../lib/errors.js';

/** PostgreSQL truncates identifiers longer than this many bytes (NAMEDATALEN - 1). */
const MAX_IDENT_BYTES = 63;
const RESERVED = new Set(['postgres', 'template0', 'template1']);

export interface RestoreNames {
  /** Where the archive is restored first: `<target>_restore_<timestamp>`. */
  incoming: string;
  /** What the target is renamed to by the swap: `<target>_before_restore_<timestamp>`. */
  previous: string;
}

/**
 * Both names share the target as a prefix, shortened (never silently truncated by the server) when the
 * whole would exceed 63 bytes.
 */
export function restoreNames(target: string, date: Date, timeZone: string): RestoreNames {
  if (RESERVED.has(target)) {
    throw new UsageError(
      `Cannot restore over "${target}": it is a system database; choose another --target-db`,
    );
  }
  if (target.length === 0 || Buffer.byteLength(target) > MAX_IDENT_BYTES) {
    throw new UsageError(`"${target}" is not a valid database name (1 to 63 bytes)`);
  }
  const stamp = wallClockStamp(date, timeZone);
  const make = (infix: string) =>
    `${fitPrefix(target, MAX_IDENT_BYTES - Buffer.byteLength(`_${infix}_${stamp}`))}_${infix}_${stamp}`;
  return { incoming: make('restore'), previous: make('before_restore') };
}

function fitPrefix(name: string, maxBytes: number): string {
  let prefix = name;
  while (Buffer.byteLength(prefix) > maxBytes) prefix = [...prefix].slice(0, -1).join('');
  return prefix;
}
