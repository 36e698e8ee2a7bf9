import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CLI } from '../../helpers/cli.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
const commandsSection = readme.slice(
  readme.indexOf('<!-- section:commands -->'),
  readme.indexOf('<!-- /section:commands -->'),
);

function help(...args: string[]): string {
  const result = spawnSync(process.execPath, [CLI, ...args, '--help'], { encoding: 'utf8' });
  expect(result.status).toBe(0);
  return result.stdout;
}

/** Names of the subcommands and options a `--help` text lists. */
function commandsIn(text: string): string[] {
  const section = text.split(/^Commands:$/m)[1] ?? '';
  return [...section.matchAll(/^ {2}(\w[\w-]*)/gm)]
    .map((m) => m[1] as string)
    .filter((name) => name !== 'help');
}

describe('README commands table', () => {
  const commands = commandsIn(help());

  it('finds the commands of the built CLI', () => {
    expect(commands).toEqual(expect.arrayContaining(['start', 'migrate', 'status', 'backup', 'restore']));
  });

  it.each(commands)('documents `%s` and each of its options', (command) => {
    expect(commandsSection).toContain(`| \`${command}`);
    const options = [...help(command).matchAll(/^ {2}(--[\w-]+)/gm)]
      .map((m) => m[1])
      .filter((o) => o !== '--help');
    for (const option of options) expect(readme, `${command} ${option}`).toContain(option);
  });
});
