/**
 * The Dockerfile and the compose files held against the code, without Docker (`npm run test:container`
 * builds and runs them; this runs everywhere, in seconds):
 * the entrypoint is the package's bin, the default command exists, the health check hits the server's
 * path and port, every variable the compose files set is a setting the config knows, mounts exist.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { describe, expect, it } from 'vitest';
import { registerBackupCommands } from '../../../src/cli/commands/backup.js';
import { registerMigrateCommands } from '../../../src/cli/commands/migrate.js';
import { registerRestoreCommand } from '../../../src/cli/commands/restore.js';
import { registerRolesCommand } from '../../../src/cli/commands/roles.js';
import { registerStartCommand } from '../../../src/cli/commands/start.js';
import type { CommandContext } from '../../../src/cli/context.js';
import { loadConfig } from '../../../src/config/load.js';
import { SETTINGS } from '../../../src/config/settings.js';
import { HEALTH_PATH, LIVE_PATH, METRICS_PATH } from '../../../src/sidecar/server.js';

const root = new URL('../../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');
const pkg = JSON.parse(read('package.json')) as { bin: Record<string, string> };

interface Instruction {
  stage: number;
  keyword: string;
  args: string;
}

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function parseDockerfile(text: string): Instruction[] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (current === '' && /^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim() !== '') logical.push(current.trim());
    current = '';
  }
  let stage = -1;
  return logical.map((line) => {
    const [keyword = '', ...rest] = line.split(/\s+/);
    if (keyword.toUpperCase() === 'FROM') stage += 1;
    return { stage, keyword: keyword.toUpperCase(), args: rest.join(' ') };
  });
}

const instructions = parseDockerfile(read('Dockerfile'));
const lastStage = Math.max(...instructions.map((i) => i.stage));
const runtime = instructions.filter((i) => i.stage === lastStage);
const find = (list: Instruction[], keyword: string): Instruction[] =>
  list.filter((i) => i.keyword === keyword);
const globalArgs = new Map(
  find(
    instructions.filter((i) => i.stage === -1),
    'ARG',
  ).map((i) => {
    const [name = '', value = ''] = i.args.split('=');
    return [name, value];
  }),
);
const resolveArgs = (text: string): string =>
  text.replace(/\$\{(\w+)\}/g, (_, name: string) => globalArgs.get(name) ?? '');
const runtimeImage = resolveArgs(find(runtime, 'FROM')[0]?.args.split(/\s+/)[0] ?? '');
const runtimeArgs = new Map(
  find(runtime, 'ARG').map((i) => {
    const [name = '', value = ''] = i.args.split('=');
    return [name, value];
  }),
);
const pgMajor = runtimeArgs.get('PG_MAJOR');

function jsonForm(instruction: Instruction | undefined): unknown {
  expect(instruction, 'instruction present').toBeDefined();
  return JSON.parse(instruction?.args ?? 'null');
}

function registeredCommands(): string[] {
  const program = new Command();
  const context = {} as CommandContext;
  registerMigrateCommands(program, context);
  registerRolesCommand(program, context);
  registerBackupCommands(program, context);
  registerRestoreCommand(program, context);
  registerStartCommand(program, context);
  return program.commands.map((c) => c.name());
}

const healthPortDefault = SETTINGS.find((s) => s.name === 'HEALTH_PORT')?.default;

describe('Dockerfile', () => {
  it('is multi-stage: build, production dependencies, then a runtime on plain Debian (no PostgreSQL server image)', () => {
    expect(lastStage).toBeGreaterThanOrEqual(2);
    expect(runtimeImage).toBe('debian:bookworm-slim');
    expect(globalArgs.get('NODE_IMAGE')).toBe('node:24-bookworm-slim');
    const all = instructions.map((i) => `${i.keyword} ${i.args}`).join('\n');
    expect(all).toMatch(/npm ci --ignore-scripts/);
    expect(all).toMatch(/npx tsc -p/);
    expect(all).toMatch(/npm ci --omit=dev --ignore-scripts/);
    expect(find(runtime, 'COPY').some((i) => /--from=\S+ \/usr\/local\/bin\/node /.test(i.args))).toBe(true);
    expect(find(runtime, 'COPY').some((i) => /--from=\S+ \/app\/node_modules/.test(i.args))).toBe(true);
  });

  it("installs the client tools of the PG_MAJOR build argument only, Debian's or PGDG's, and puts them first on PATH", () => {
    expect(Number(pgMajor)).toBeGreaterThanOrEqual(17);
    const runs = find(runtime, 'RUN')
      .map((i) => i.args)
      .join('\n');
    expect(runs).toContain('apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}"');
    expect(runs).not.toMatch(/postgresql-\$\{PG_MAJOR\}[^-]|postgresql-\d/);
    expect(runs).toContain('/usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y');
    expect(runs).toContain('rm -rf /var/lib/apt/lists/*');
    expect(runs).toMatch(/pg_dump --version \| grep -q " \$\{PG_MAJOR\}\\."/);
    expect(find(runtime, 'ENV').map((i) => i.args)).toContain(
      'PATH=/usr/lib/postgresql/${PG_MAJOR}/bin:$PATH',
    );
  });

  it('is a sidecar only: no VOLUME, no server port, no `# syntax` frontend to pull, no package that installs nothing', () => {
    const text = read('Dockerfile');
    expect(text).not.toMatch(/^#\s*syntax=/m);
    expect(find(instructions, 'VOLUME')).toEqual([]);
    expect(text).not.toContain('libstdc++');
    expect(find(runtime, 'FROM')[0]?.args).not.toMatch(/postgres/);
  });

  it('ENTRYPOINT is the package bin, linked onto PATH', () => {
    expect(jsonForm(find(runtime, 'ENTRYPOINT')[0])).toEqual(['chatflow-db']);
    const binPath = pkg.bin['chatflow-db'];
    expect(binPath).toBe('bin/chatflow-db.js');
    const workdir = find(runtime, 'WORKDIR').at(-1)?.args;
    const runs = find(runtime, 'RUN')
      .map((i) => i.args)
      .join('\n');
    expect(runs).toContain(`ln -s ${workdir}/${binPath} /usr/local/bin/chatflow-db`);
    expect(find(runtime, 'COPY').some((i) => i.args === 'bin ./bin')).toBe(true);
  });

  it('CMD is `start`, a registered command', () => {
    const cmd = jsonForm(find(runtime, 'CMD')[0]) as string[];
    expect(cmd).toEqual(['start']);
    expect(registeredCommands()).toContain(cmd[0]);
    expect(registeredCommands()).toContain('restore');
  });

  // Docker (and Swarm, which restarts unhealthy tasks) asks liveness; /healthz is for alerting.
  it('HEALTHCHECK asks /livez on the default HEALTH_PORT, which is exposed', () => {
    const healthcheck = find(runtime, 'HEALTHCHECK')[0]?.args ?? '';
    expect(LIVE_PATH).toBe('/livez');
    expect(healthcheck).toContain(`'${LIVE_PATH}'`);
    expect(healthcheck).toContain(`process.env.HEALTH_PORT||${healthPortDefault}`);
    expect(find(runtime, 'EXPOSE').map((i) => i.args)).toEqual([healthPortDefault]);
  });

  it('runs as a non-root user, stops on SIGTERM, and carries OCI labels', () => {
    const user = find(runtime, 'USER').at(-1)?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(find(runtime, 'STOPSIGNAL').at(-1)?.args).toBe('SIGTERM');
    const labels = find(runtime, 'LABEL')
      .map((i) => i.args)
      .join(' ');
    for (const key of ['title', 'description', 'version', 'revision', 'source', 'licenses', 'created']) {
      expect(labels).toContain(`org.opencontainers.image.${key}=`);
    }
  });

  it('ships migrations/ and initdb/ where the default MIGRATIONS_DIR finds them', () => {
    const workdir = find(runtime, 'WORKDIR').at(-1)?.args;
    expect(workdir).toBe('/app');
    const copies = find(runtime, 'COPY').map((i) => i.args);
    expect(copies).toContain('migrations ./migrations');
    expect(copies).toContain('initdb ./initdb');
    expect(copies).toContain('package.json ./');
    // PACKAGE_ROOT is the folder with package.json: /app, so the default is /app/migrations.
    expect(SETTINGS.find((s) => s.name === 'MIGRATIONS_DIR')?.default).toBe('<package>/migrations');
  });

  it('.dockerignore keeps out nothing the build copies', () => {
    const ignored = new Set(
      read('.dockerignore')
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l && !l.startsWith('#')),
    );
    const sources = find(instructions, 'COPY')
      .filter((i) => !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(sources.length).toBeGreaterThan(5);
    for (const source of sources) {
      expect(ignored.has(source), `${source} is ignored`).toBe(false);
      expect(existsSync(new URL(source, root)), `${source} exists`).toBe(true);
    }
    for (const secret of ['.git', 'node_modules', '.env', 'secrets']) expect(ignored.has(secret)).toBe(true);
  });
});

type Service = {
  image?: string;
  build?: unknown;
  environment?: Record<string, string | number | boolean | null> | string[];
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] | string };
  entrypoint?: string[] | string;
  command?: string[] | string;
  secrets?: string[];
};
type Compose = {
  services: Record<string, Service>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file: string }>;
};

function environment(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  const entries = Array.isArray(env)
    ? env.map((line) => {
        const [key = '', ...value] = line.split('=');
        return [key, value.join('=')];
      })
    : Object.entries(env).map(([key, value]) => [key, value === null ? '' : String(value)]);
  return Object.fromEntries(entries) as Record<string, string>;
}

/** `${X:-default}` -> default, `${X:?message}` -> a placeholder, as compose would with X unset. */
function interpolate(value: string): string {
  return value.replace(/\$\{(\w+)(?::?([-?])([^}]*))?\}/g, (_, _name: string, op?: string, arg?: string) =>
    op === '-' ? (arg ?? '') : 'example',
  );
}

/** Variables the official postgres and the Versity Gateway images read. */
const IMAGE_VARIABLES: Record<string, RegExp> = {
  postgres: /^(POSTGRES_(USER|PASSWORD|DB|INITDB_ARGS|INITDB_WALDIR|HOST_AUTH_METHOD)(_FILE)?|PGDATA)$/,
  s3: /^(ROOT_ACCESS_KEY_ID|ROOT_SECRET_ACCESS_KEY|VGW_[A-Z_]+)$/,
};
const settingNames = new Set(SETTINGS.map((s) => s.name));
const secretNames = new Set(SETTINGS.filter((s) => s.secret).map((s) => s.name));
const ours = (service: Service): boolean =>
  service.build !== undefined || (service.image ?? '').startsWith('chatflow-db');
const readme = read('README.md');

for (const file of ['docker-compose.yml', 'docker-compose.prod.yml']) {
  const compose = parseYaml(read(file)) as Compose;
  const services = Object.entries(compose.services);
  const sidecar = compose.services['chatflow-db'];
  const postgres = compose.services.postgres;

  describe(file, () => {
    it('has a postgres service of the same major as the image, healthy by pg_isready, with the initdb script', () => {
      // pg_dump must be at least as new as the server: the image's default major is the server's.
      expect(postgres?.image).toBe(`postgres:${pgMajor}-bookworm`);
      expect(JSON.stringify(postgres?.healthcheck?.test)).toContain('pg_isready');
      const initdb = postgres?.volumes?.find((v) => v.includes('/docker-entrypoint-initdb.d/'));
      expect(initdb).toBe('./initdb/init-complete.sql:/docker-entrypoint-initdb.d/init-complete.sql:ro');
      expect(postgres?.volumes?.some((v) => /^[a-z-]+:\/var\/lib\/postgresql\/data$/.test(v))).toBe(true);
    });

    it('bind-mounts only files that exist', () => {
      for (const [, service] of services) {
        for (const volume of service.volumes ?? []) {
          const source = volume.split(':')[0] ?? '';
          if (source.startsWith('./'))
            expect(existsSync(new URL(source, root)), `${source} exists`).toBe(true);
          else expect(Object.keys(compose.volumes ?? {})).toContain(source);
        }
      }
      for (const secret of Object.values(compose.secrets ?? {}))
        expect(secret.file).toMatch(/^\.\/secrets\//);
    });

    it('sets only variables the config knows (or the postgres/S3 images read), all in the README', () => {
      for (const [name, service] of services) {
        const keys = Object.keys(environment(service));
        if (ours(service)) {
          for (const key of keys) {
            const base = key.endsWith('_FILE') ? key.slice(0, -5) : key;
            const known = settingNames.has(key) || (key !== base && secretNames.has(base));
            expect(known, `${name}: ${key} is a chatflow-db setting`).toBe(true);
            expect(readme, `README mentions ${base}`).toContain(`\`${base}\``);
          }
        } else {
          const allowed = IMAGE_VARIABLES[name];
          expect(allowed, `${name} is a known image`).toBeDefined();
          for (const key of keys) expect(key, `${name}: ${key}`).toMatch(allowed ?? /^$/);
        }
      }
    });

    it('gives the sidecar a configuration that loads', () => {
      expect(sidecar && ours(sidecar)).toBe(true);
      const env: Record<string, string> = {};
      for (const [key, value] of Object.entries(environment(sidecar ?? {}))) {
        // Secrets come from files at run time; a placeholder value stands in for them here.
        if (key.endsWith('_FILE'))
          env[key.slice(0, -5)] = key.includes('WEBHOOK') ? 'https://hooks.example.com/x' : 'secret';
        else env[key] = interpolate(value);
      }
      const config = loadConfig(env, 2);
      expect(config.database.host).toBe('postgres');
      expect(config.backup.s3?.bucket).toBeTruthy();
    });

    it('waits for a healthy postgres and publishes HEALTH_PORT', () => {
      expect(sidecar?.depends_on?.postgres?.condition).toBe('service_healthy');
      const port = environment(sidecar ?? {}).HEALTH_PORT ?? healthPortDefault;
      expect(sidecar?.ports?.some((mapping) => mapping.endsWith(`:${port}`))).toBe(true);
      expect(
        Number(/(\d+)\s*$/.exec(read(file).match(/stop_grace_period:\s*(\d+)s/)?.[1] ?? '0')?.[1]),
      ).toBeGreaterThanOrEqual(10);
    });

    it('has no key Compose v1.29 refuses (top-level name:)', () => {
      expect(Object.keys(compose)).not.toContain('name');
      expect(
        Object.keys(compose).every((key) => ['services', 'volumes', 'networks', 'secrets'].includes(key)),
      ).toBe(true);
    });

    it('uses the health and metrics paths the server serves', () => {
      expect([HEALTH_PATH, METRICS_PATH]).toEqual(['/healthz', '/metrics']);
    });
  });
}

describe('docker-compose.yml (fresh deployment)', () => {
  const compose = parseYaml(read('docker-compose.yml')) as Compose;
  const sidecar = compose.services['chatflow-db'];
  const env = environment(sidecar ?? {});

  it("has an S3 server that makes the sidecar's bucket before it starts, healthy before the sidecar starts", () => {
    const s3 = compose.services.s3;
    expect(sidecar?.depends_on?.s3?.condition).toBe('service_healthy');
    expect(JSON.stringify(s3?.entrypoint)).toContain(
      `mkdir -p /data/${env.S3_BUCKET} && exec versitygw posix /data`,
    );
    expect(s3?.volumes).toContain('s3-data:/data');
    expect(JSON.stringify(s3?.healthcheck?.test)).toContain('/health');
    const s3env = environment(s3 ?? {});
    expect(env.S3_ENDPOINT).toBe(`http://s3:${s3env.VGW_PORT?.replace(':', '')}`);
    expect(env.S3_FORCE_PATH_STYLE).toBe('true');
    expect(interpolate(env.AWS_ACCESS_KEY_ID ?? '')).toBe(interpolate(s3env.ROOT_ACCESS_KEY_ID ?? 'unset'));
    expect(interpolate(env.AWS_SECRET_ACCESS_KEY ?? '')).toBe(
      interpolate(s3env.ROOT_SECRET_ACCESS_KEY ?? 'unset'),
    );
  });

  it("matches chatflow-db.env.example, which the README's one-shot commands use", () => {
    const example = Object.fromEntries(
      read('chatflow-db.env.example')
        .split('\n')
        .filter((line) => line.trim() !== '' && !line.startsWith('#'))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    ) as Record<string, string>;
    for (const key of Object.keys(example)) expect(settingNames.has(key), `${key} is a setting`).toBe(true);
    for (const key of [
      'PGHOST',
      'PGUSER',
      'PGPASSWORD',
      'PGDATABASE',
      'BACKUP_DIR',
      'S3_BUCKET',
      'S3_ENDPOINT',
    ]) {
      expect(example[key], key).toBe(interpolate(env[key] ?? ''));
    }
    expect(readme).toContain('--env-file chatflow-db.env ');
    expect(readme).toContain('cp chatflow-db.env.example chatflow-db.env');
    const gitignore = read('.gitignore').split('\n');
    for (const ignored of ['.env', 'chatflow-db.env', 'secrets/']) expect(gitignore).toContain(ignored);
  });

  it('pins every image to a version (no :latest, no untagged image)', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.image, `${name} has an image`).toMatch(/^[\w./-]+:[\w.-]+$/);
      expect(service.image).not.toMatch(/:latest$/);
    }
  });

  it('keeps local backups on a named volume at /backups', () => {
    expect(env.BACKUP_DIR).toBe('/backups');
    expect(sidecar?.volumes).toContain('backups:/backups');
  });

  it('connects with the postgres service credentials', () => {
    const pg = environment(compose.services.postgres ?? {});
    expect(env.PGPASSWORD).toBe(pg.POSTGRES_PASSWORD);
    expect(env.PGUSER).toBe(pg.POSTGRES_USER);
    expect(env.PGDATABASE).toBe(pg.POSTGRES_DB);
  });
});

describe('docker-compose.prod.yml (secrets)', () => {
  const compose = parseYaml(read('docker-compose.prod.yml')) as Compose;
  const sidecar = compose.services['chatflow-db'];
  const env = environment(sidecar ?? {});

  it('passes every secret as a file, never as a value', () => {
    for (const name of secretNames) expect(env[name], `${name} is not set directly`).toBeUndefined();
    for (const [key, value] of Object.entries(env).filter(([key]) => key.endsWith('_FILE'))) {
      const secret = value.replace('/run/secrets/', '');
      expect(sidecar?.secrets, `${key}'s secret is granted`).toContain(secret);
      expect(compose.secrets?.[secret]).toBeDefined();
    }
    expect(env.S3_ENDPOINT).toBeUndefined();
  });

  it('pins every image', () => {
    for (const service of Object.values(compose.services))
      expect(service.image).not.toMatch(/:latest$|^[^:]+$/);
  });
});
