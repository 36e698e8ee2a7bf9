/**
 * The temporary restore role's password reaches the server only as a SCRAM-SHA-256 verifier: the verifier
 * computed here must be exactly the one PostgreSQL computes for the same password and salt, or a server
 * with scram-sha-256 in pg_hba.conf (the official image) would refuse the role's login.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { scramVerifier } from '../../../src/restore/restore-role.js';
import { adminQuery, dropRole, uniqueName } from '../../helpers/database.js';

const role = uniqueName('cfdb_scram');

afterAll(async () => {
  await dropRole(role);
});

describe('scramVerifier', () => {
  it("equals the server's verifier for the same password and salt", async () => {
    const password = 'Zq3-random_Password.value';
    await adminQuery(
      `SET password_encryption = 'scram-sha-256'; CREATE ROLE "${role}" PASSWORD '${password}'`,
    );
    const { rows } = await adminQuery<{ rolpassword: string }>(
      'SELECT rolpassword FROM pg_authid WHERE rolname = $1',
      [role],
    );
    const stored = rows[0]?.rolpassword ?? '';
    const salt = Buffer.from(/^SCRAM-SHA-256\$4096:([^$]+)\$/.exec(stored)?.[1] ?? '', 'base64');
    expect(salt.length).toBeGreaterThan(0);
    expect(scramVerifier(password, salt)).toBe(stored);
  });
});
