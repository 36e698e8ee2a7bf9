/**
 * A real browser for tests: Debian's chromium driven by playwright-core (no browser download; the
 * package is the driver only). Each launch gets a fresh profile directory, removed on close, and the
 * flags that keep a headless chromium from phoning home or touching a GPU.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { REPO_ROOT } from './cli.js';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Where screenshots go (gitignored); CI keeps the folder as an artifact. */
export const ARTIFACTS_DIR = join(REPO_ROOT, 'test-artifacts');

export function chromiumInstalled(): boolean {
  return existsSync(CHROMIUM_PATH);
}

/**
 * Why the browser tests cannot run, or undefined when they can. Without chromium they are skipped on a
 * development machine, but in CI (CI set) a missing chromium is a failure, not a silent skip.
 */
export function browserSkipReason(): string | undefined {
  if (chromiumInstalled() || process.env.CI) return undefined;
  return `${CHROMIUM_PATH} not found: install Debian's chromium (apt-get install -y chromium) to run the browser tests`;
}

export interface TestBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** Launches headless chromium with a fresh user-data-dir; close() stops it and removes the profile. */
export async function launchBrowser(): Promise<TestBrowser> {
  if (!chromiumInstalled()) {
    throw new Error(`${CHROMIUM_PATH} not found: apt-get install -y chromium (CI installs it in .ci/run)`);
  }
  const profile = await mkdtemp(join(tmpdir(), 'chatflow-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: 60_000,
    });
    return {
      context,
      async close() {
        await context.close().catch(() => undefined);
        await rm(profile, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await rm(profile, { recursive: true, force: true });
    throw error;
  }
}
