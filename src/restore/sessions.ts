/**
 * Whether the restore will be able to end the target's sessions at the cut-over, asked before any work.
 * PostgreSQL lets a role terminate a session only if it is a superuser, or the session's role is one it
 * has the privileges of, or it has pg_signal_backend and the session is not a superuser's. A restore that
 * would fail at the swap, after restoring for an hour, is refused at once instead, naming the sessions.
 */
import type { Client } from '../lib/db.js';
import { quoteIdent } from '../lib/db.js';
import { JobError } from '../lib/errors.js';

export interface BlockingSession {
  pid: number;
  role: string;
  superuser: boolean;
  applicationName: string;
  /** null when not visible to the owner role (needs pg_read_all_stats) or a local socket. */
  clientAddress: string | null;
}

/** Client sessions on `database` that the current role cannot terminate. */
export async function sessionsThatCannotBeEnded(
  client: Client,
  database: string,
): Promise<BlockingSession[]> {
  const { rows } = await client.query<{
    pid: number;
    role: string;
    superuser: boolean;
    application_name: string;
    client_addr: string | null;
  }>(
    `SELECT a.pid, r.rolname AS role, r.rolsuper AS superuser, a.application_name, host(a.client_addr) AS client_addr
       FROM pg_stat_activity a JOIN pg_roles r ON r.oid = a.usesysid,
            (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) me
      WHERE a.datname = $1 AND a.pid <> pg_backend_pid() AND a.usesysid IS NOT NULL
        AND NOT me.rolsuper
        AND (r.rolsuper OR NOT (pg_has_role(current_user, r.oid, 'USAGE')
                                OR pg_has_role(current_user, 'pg_signal_backend', 'USAGE')))
      ORDER BY a.pid`,
    [database],
  );
  return rows.map((r) => ({
    pid: r.pid,
    role: r.role,
    superuser: r.superuser,
    applicationName: r.application_name,
    clientAddress: r.client_addr,
  }));
}

/** Refuses (exit 1) when the cut-over could not end every session on `target`; says what to do. */
export async function assertSessionsCanBeEnded(client: Client, target: string, owner: string): Promise<void> {
  const blocking = await sessionsThatCannotBeEnded(client, target);
  if (blocking.length === 0) return;
  const list = blocking
    .map(
      (s) =>
        `pid ${s.pid}: role ${s.role}${s.superuser ? ' (superuser)' : ''}, application_name "${s.applicationName}", client ${s.clientAddress ?? 'not visible (local socket, or grant pg_read_all_stats)'}`,
    )
    .join('; ');
  const fixes: string[] = [];
  if (blocking.some((s) => s.superuser)) {
    fixes.push(
      "only a superuser can end a superuser's session: stop the application (or let it connect as a role that is not a superuser), or run the restore as a superuser",
    );
  }
  if (blocking.some((s) => !s.superuser)) {
    fixes.push(`GRANT pg_signal_backend TO ${quoteIdent(owner)} (as a superuser), or stop the application`);
  }
  throw new JobError(
    `The restore would have to end ${blocking.length} session(s) on "${target}" that ${owner} may not terminate (${list}). ` +
      `Nothing was done. Fix: ${fixes.join('; ')}; then retry`,
  );
}
