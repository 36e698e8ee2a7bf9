/**
 * Connections that stay open for a whole job (the migration lock, the restore's control connection) must
 * notice a peer that vanished without a FIN (a NAT or load balancer dropping idle flows): TCP keepalives.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import type { DatabaseConfig } from '../../../src/config/load.js';
import { clientOptions, connect } from '../../../src/lib/db.js';
import { testServer } from '../../helpers/database.js';

const db: DatabaseConfig = {
  host: testServer.host,
  port: testServer.port,
  user: testServer.user,
  password: testServer.password,
  database: 'postgres',
  sslMode: undefined,
  waitTimeoutMs: 0,
};

describe('control connections', () => {
  it('ask for TCP keepalives', () => {
    expect(clientOptions(db).keepAlive).toBe(true);
  });

  it('have the keepalive timer armed on their socket', async () => {
    const client = await connect(db);
    try {
      const { rows } = await client.query<{ port: number }>('SELECT inet_client_port() AS port');
      const port = rows[0]?.port;
      // ss -o shows "timer:(keepalive,...)" for a socket with SO_KEEPALIVE set.
      const out = execFileSync('ss', ['-tnoH', 'state', 'established', `( sport = :${port} )`], {
        encoding: 'utf8',
      });
      expect(out).toMatch(/timer:\(keepalive/);
    } finally {
      await client.end();
    }
  });
});
