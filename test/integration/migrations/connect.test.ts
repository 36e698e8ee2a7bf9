/**
 * Connecting: waiting for a database that starts late, and failing at once where waiting cannot help.
 *
 * The test server trusts every connection from 127.0.0.1 (pg_hba.conf), so it never asks for a password:
 * a wrong password cannot happen there. The wrong-password case therefore runs against a tiny fake server
 * that speaks just enough of the protocol to ask for a password and reject it with SQLSTATE 28P01, exactly
 * as PostgreSQL does; a role that does not exist (28000) and a database that does not exist (3D000) run
 * against the real server.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, dropDatabase, testServer } from '../../helpers/database.js';
import { freePort } from '../../../scripts/support/net.js';
import { cli, logs, migrationsDir, removeMigrationDirs, reportedError, trackedFiles } from './support.js';

let database: string;
let dir: string;
beforeAll(async () => {
  database = await createDatabase('cfdb_migrate_connect');
  dir = migrationsDir({ '001_one.sql': 'CREATE TABLE one (id int);\n' });
});
afterAll(async () => {
  await dropDatabase(database);
  removeMigrationDirs();
});

function listen(server: net.Server, port = 0): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port));
  });
}

/** Answers every startup with "send a password" and then rejects it the way PostgreSQL does. */
function fakePasswordServer(): net.Server {
  return net.createServer((socket) => {
    let startup = true;
    socket.on('data', () => {
      if (startup) {
        startup = false;
        const request = Buffer.alloc(9);
        request.write('R', 0);
        request.writeInt32BE(8, 1);
        request.writeInt32BE(3, 5); // AuthenticationCleartextPassword
        socket.write(request);
        return;
      }
      const fields = ['SFATAL', 'VFATAL', 'C28P01', 'Mpassword authentication failed for user "postgres"'];
      const body = Buffer.concat([...fields.map((f) => Buffer.from(`${f}\0`)), Buffer.from('\0')]);
      const header = Buffer.alloc(5);
      header.write('E', 0);
      header.writeInt32BE(body.length + 4, 1);
      socket.end(Buffer.concat([header, body]));
    });
    socket.on('error', () => undefined);
  });
}

describe('connecting', () => {
  it('waits for a database that starts 5 s after migrate, then migrates', async () => {
    const port = await freePort();
    const proxy = net.createServer((client) => {
      const upstream = net.connect(testServer.port, testServer.host);
      client.pipe(upstream).pipe(client);
      const close = () => {
        client.destroy();
        upstream.destroy();
      };
      client.on('error', close);
      upstream.on('error', close);
    });
    const started = Date.now();
    const run = cli(database, ['migrate'], {
      MIGRATIONS_DIR: dir,
      PGPORT: String(port),
      DB_WAIT_TIMEOUT: '30',
    });
    await new Promise((resolve) => setTimeout(resolve, 5000));
    await listen(proxy, port);
    try {
      const result = await run;
      expect(result.code, result.stderr).toBe(0);
      expect(Date.now() - started).toBeGreaterThanOrEqual(5000);
      expect(logs(result).filter((line) => line.msg === 'waiting for the database').length).toBeGreaterThan(
        1,
      );
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
    expect(await trackedFiles(database)).toEqual(['001_one.sql']);
  });

  it('gives up after DB_WAIT_TIMEOUT with exit 4', async () => {
    const result = await cli(database, ['migrate'], {
      MIGRATIONS_DIR: dir,
      PGPORT: String(await freePort()),
      DB_WAIT_TIMEOUT: '1',
    });
    expect(result.code).toBe(4);
    expect(reportedError(result)).toMatch(/Gave up waiting 1 s for .* raise DB_WAIT_TIMEOUT/);
  });

  it('fails at once on a wrong password (exit 4)', async () => {
    const server = fakePasswordServer();
    const port = await listen(server);
    try {
      const started = Date.now();
      const result = await cli(database, ['migrate'], {
        MIGRATIONS_DIR: dir,
        PGPORT: String(port),
        PGPASSWORD: 'wrong',
      });
      expect(result.code).toBe(4);
      expect(Date.now() - started).toBeLessThan(5000);
      expect(reportedError(result)).toMatch(/authentication failed: check PGUSER\/PGPASSWORD/);
      expect(result.stderr).not.toContain('wrong');
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it.each([
    ['a role that does not exist', { PGUSER: 'no_such_role_cfdb' }, /rejected this role/],
    ['a database that does not exist', { PGDATABASE: 'no_such_database_cfdb' }, /database does not exist/],
  ])('fails at once on %s (exit 4)', async (_name, env, message) => {
    const started = Date.now();
    const result = await cli(database, ['migrate'], { MIGRATIONS_DIR: dir, ...env });
    expect(result.code).toBe(4);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(reportedError(result)).toMatch(message);
  });
});
