/**
 * Another run takes the name while this backup runs (after the early "does it exist" check, before the
 * stores complete): this backup fails with exit 1, and the other run's objects are left exactly as they
 * were. Only what this run wrote itself is removed. The other run is simulated by a `pg_dump` wrapper that
 * stores the objects in the local directory and in S3 before dumping.
 */
import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, runCli } from '../../helpers/cli.js';
import { createDatabase, dbEnv, dropDatabase, withDb } from '../../helpers/database.js';
import { startS3, testS3Client, type TestS3 } from '../../../scripts/support/s3rver.js';

let source: string;
let s3: TestS3;
let client: S3Client;
let dir: string;
let bin: string;
let env: Record<string, string>;
const PREFIX = 'race/';

/** A `pg_dump` that first lets "another run" store `objects` (local: `local`, S3: `s3`), then dumps. */
function otherRunStores(objects: { local?: string[]; s3?: string[] }): Record<string, string> {
  const real = execFileSync('sh', ['-c', 'command -v pg_dump'], { encoding: 'utf8' }).trim();
  const sdk = join(REPO_ROOT, 'node_modules/@aws-sdk/client-s3/dist-cjs/index.js');
  writeFileSync(
    join(bin, 'plant.mjs'),
    `import sdk from ${JSON.stringify(sdk)};
const client = new sdk.S3Client({ endpoint: ${JSON.stringify(s3.endpoint)}, region: 'us-east-1', forcePathStyle: true,
  credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
for (const name of process.argv.slice(2))
  await client.send(new sdk.PutObjectCommand({ Bucket: ${JSON.stringify(s3.bucket)}, Key: ${JSON.stringify(PREFIX)} + name, Body: 'theirs' }));
client.destroy();
`,
  );
  const local = (objects.local ?? []).map((n) => `printf theirs > '${join(dir, n)}'`).join('\n');
  const remote = objects.s3?.length
    ? `'${process.execPath}' '${join(bin, 'plant.mjs')}' ${objects.s3.join(' ')}`
    : '';
  const script = `#!/bin/sh\nREAL=${real}\nif [ "$1" = "--version" ]; then exec "$REAL" "$@"; fi\n${local}\n${remote}\nexec "$REAL" "$@"\n`;
  writeFileSync(join(bin, 'pg_dump'), script);
  chmodSync(join(bin, 'pg_dump'), 0o755);
  return { PATH: `${bin}:${process.env.PATH ?? ''}` };
}

async function s3Objects(): Promise<Record<string, string>> {
  const page = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: PREFIX }));
  const objects: Record<string, string> = {};
  for (const { Key } of page.Contents ?? []) {
    const body = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key }));
    objects[(Key ?? '').slice(PREFIX.length)] = (await body.Body?.transformToString('latin1')) ?? '';
  }
  return objects;
}

function localObjects(): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((n) => [n, readFileSync(join(dir, n), 'latin1')]));
}

beforeAll(async () => {
  source = await createDatabase('cfdb_name_race');
  await withDb(source, (c) => c.query('CREATE TABLE t (v text); INSERT INTO t VALUES ($$ours$$)'));
  s3 = await startS3();
  client = testS3Client(s3.endpoint);
  dir = mkdtempSync(join(tmpdir(), 'cfdb-race-'));
  bin = mkdtempSync(join(tmpdir(), 'cfdb-bin-'));
  env = { ...dbEnv(source), ...s3.env, S3_PREFIX: PREFIX, BACKUP_DIR: dir };
});

afterAll(async () => {
  try {
    client?.destroy();
    await s3?.close();
  } finally {
    for (const path of [dir, bin]) if (path) rmSync(path, { recursive: true, force: true });
    if (source) await dropDatabase(source);
  }
});

describe('a name taken by another run during the backup', () => {
  it("the other run's manifest appears: exit 1, its manifests kept, only our archives removed", async () => {
    const name = 'race_manifest';
    const path = otherRunStores({ local: [`${name}.manifest.json`], s3: [`${name}.manifest.json`] });
    const result = await runCli(['backup', name], { ...env, ...path });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/race_manifest\.manifest\.json already exists/);
    expect(localObjects()).toEqual({ [`${name}.manifest.json`]: 'theirs' });
    expect(await s3Objects()).toEqual({ [`${name}.manifest.json`]: 'theirs' });
  });

  it("the other run's archive appears in one store: exit 1, it is kept, our copy in the other store removed", async () => {
    for (const file of readdirSync(dir)) rmSync(join(dir, file));
    const name = 'race_archive';
    const path = otherRunStores({ local: [`${name}.sql.gz`] });
    const result = await runCli(['backup', name], { ...env, ...path });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/race_archive\.sql\.gz already exists/);
    expect(localObjects()).toEqual({ [`${name}.sql.gz`]: 'theirs' });
    const inS3 = await s3Objects();
    expect(Object.keys(inS3).filter((k) => k.startsWith(name))).toEqual([]);
  });
});
