import { describe, expect, it } from 'vitest';
import {
  refusalReason,
  roleStatements,
  scramVerifier,
  type RoleState,
} from '../../../src/roles/statements.js';

const owner: RoleState = {
  currentUser: 'postgres',
  currentUserIsSuperuser: true,
  existing: undefined,
  ownedObjects: [],
  memberOf: [],
  objectOwners: ['postgres'],
};

describe('refusalReason', () => {
  it.each<[string, string, Partial<RoleState>, RegExp | undefined]>([
    ['a new role', 'chatflow_app', {}, undefined],
    [
      'an existing limited role',
      'chatflow_app',
      { existing: { superuser: false, createDb: true, createRole: false } },
      undefined,
    ],
    ['the role we run as', 'postgres', {}, /the role this command runs as/],
    [
      'a superuser (legacy POSTGRES_USER=chatflow_user)',
      'chatflow_user',
      { existing: { superuser: true, createDb: true, createRole: true } },
      /is a superuser/,
    ],
    [
      'an owner of tables',
      'chatflow_user',
      {
        existing: { superuser: false, createDb: false, createRole: false },
        ownedObjects: ['users', 'messages'],
      },
      /owns users, messages/,
    ],
    [
      'a member of the owner',
      'chatflow_user',
      { existing: { superuser: false, createDb: false, createRole: false }, memberOf: ['postgres'] },
      /member of postgres/,
    ],
  ])('%s', (_case, role, patch, expected) => {
    const reason = refusalReason(role, { ...owner, ...patch });
    if (expected === undefined) expect(reason).toBeUndefined();
    else {
      expect(reason).toMatch(expected);
      expect(reason).toMatch(/Set APP_DB_USER to another name/);
    }
  });
});

describe('roleStatements', () => {
  it('creates a login role with row privileges only, for present and future objects', () => {
    const sql = roleStatements({
      role: 'chatflow_app',
      password: 's3cret',
      database: 'chatflow',
      state: owner,
    });
    expect(sql[0]).toMatch(
      /^CREATE ROLE "chatflow_app" WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD 'SCRAM-SHA-256\$4096:/,
    );
    expect(sql.join('\n')).not.toContain('s3cret');
    expect(sql).toContain('GRANT CONNECT ON DATABASE "chatflow" TO "chatflow_app"');
    expect(sql).toContain('REVOKE CREATE ON SCHEMA public FROM PUBLIC');
    expect(sql).toContain(
      'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "chatflow_app"',
    );
    expect(sql).toContain('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "chatflow_app"');
    expect(sql).toContain(
      'ALTER DEFAULT PRIVILEGES FOR ROLE "postgres" IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "chatflow_app"',
    );
    expect(sql.indexOf('REVOKE ALL ON ALL TABLES IN SCHEMA public FROM "chatflow_app"')).toBeLessThan(
      sql.indexOf('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO "chatflow_app"'),
    );
  });

  it('alters an existing role, and leaves SUPERUSER unmentioned when not running as a superuser', () => {
    const existing = { superuser: false, createDb: true, createRole: false };
    const sql = roleStatements({
      role: 'app',
      password: 'pw',
      database: 'db',
      state: {
        ...owner,
        currentUser: 'owner',
        currentUserIsSuperuser: false,
        existing,
        objectOwners: ['owner', 'other'],
      },
    });
    expect(sql[0]).toMatch(/^ALTER ROLE "app" WITH LOGIN NOCREATEDB NOCREATEROLE PASSWORD /);
    expect(sql.filter((s) => s.startsWith('ALTER DEFAULT PRIVILEGES FOR ROLE "other"'))).toHaveLength(2);
    expect(sql.filter((s) => s.startsWith('ALTER DEFAULT PRIVILEGES FOR ROLE "owner"'))).toHaveLength(2);
  });

  it('quotes the password literal when it must travel in clear (non-ASCII)', () => {
    const sql = roleStatements({ role: 'app', password: "pä'ss", database: 'db', state: owner });
    expect(sql[0]).toContain("PASSWORD 'pä''ss'");
  });
});

describe('scramVerifier', () => {
  it('matches PostgreSQL 15 for a known salt (from ALTER ROLE ... PASSWORD on a real server)', () => {
    // SELECT rolpassword FROM pg_authid after ALTER ROLE x PASSWORD 'chatflow-test-password'.
    const stored = KNOWN_VERIFIER;
    const salt = Buffer.from(stored.split('$')[1]!.split(':')[1]!, 'base64');
    expect(scramVerifier('chatflow-test-password', salt)).toBe(stored);
  });

  it('is undefined for passwords PostgreSQL would SASLprep', () => {
    expect(scramVerifier('pässword')).toBeUndefined();
  });
});

const KNOWN_VERIFIER =
  'SCRAM-SHA-256$4096:NR6r8vkw66N72kzIfdIncg==$IR8bDCV5VmrzXQH5N10a70UIX1fRE9364Ofy2erjSPY=:f8+wfKHOxS8pfqHVaamrStYI1Xy4jFXi0mHWPz6CyI8=';
