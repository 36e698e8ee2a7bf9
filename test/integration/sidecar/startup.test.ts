/**
 * `chatflow-db start` before the loop runs: configuration errors, a stop request while waiting for the
 * database, and a health port that is taken.
 */
import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { createDatabase, dbEnv, dropDatabase } from '../../helpers/database.js';
import { freePort } from '../../../scripts/support/net.js';
import { spawnCli } from '../../helpers/process.js';

describe('chatflow-db start: start-up', () => {
  let database: string;
  beforeAll(async () => {
    database = await createDatabase('cfdb_startup');
  });
  afterAll(async () => {
    if (database) await dropDatabase(database);
  });

  it('reports every configuration problem at once and exits 2 before touching anything', async () => {
    const result = await runCli(['start'], {
      ...dbEnv(database),
      BACKUP_SCHEDULE: 'every night',
      HEALTH_PORT: 'eighty',
      NOTIFY_WEBHOOK_URL: 'ftp://example.com/hook',
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('BACKUP_SCHEDULE');
    expect(result.stderr).toContain('HEALTH_PORT');
    expect(result.stderr).toContain('NOTIFY_WEBHOOK_URL');
  });

  it('stops with 0 when SIGTERM arrives while it waits for the database', async () => {
    const closedPort = await freePort();
    const sidecar = spawnCli(['start'], {
      PGHOST: '127.0.0.1',
      PGPORT: String(closedPort),
      PGDATABASE: 'x',
      DB_WAIT_TIMEOUT: '60',
      HEALTH_PORT: '0',
    });
    try {
      await sidecar.waitForLog((line) => line.msg === 'waiting for the database', 20_000);
      const signalled = Date.now();
      sidecar.signal('SIGTERM');
      const result = await sidecar.exited;
      expect(result.code).toBe(0);
      expect(Date.now() - signalled).toBeLessThan(3000);
    } finally {
      await sidecar.kill();
    }
  });

  it('exits 1 naming HEALTH_PORT when the port is taken', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const result = await runCli(
        ['start'],
        { ...dbEnv(database), HEALTH_PORT: String(port), HEALTH_HOST: '127.0.0.1' },
        { timeoutMs: 60_000 },
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`Cannot serve /healthz on 127.0.0.1:${port}`);
      expect(result.stderr).toContain('choose a free HEALTH_PORT');
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
