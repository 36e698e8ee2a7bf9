/**
 * pino everywhere: JSON lines in containers, pretty text on a terminal. Logs go to stderr so that
 * stdout carries only command output (`list --json`, `status --json`).
 */
import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import type { PrettyStream, PrettyOptions } from 'pino-pretty';

export type { Logger };

export interface LoggerOptions {
  level: string;
  format: 'auto' | 'json' | 'pretty';
}

/** Keys whose values never reach a log line. */
const REDACT = [
  'password',
  '*.password',
  'secretAccessKey',
  '*.secretAccessKey',
  'connectionString',
  '*.connectionString',
  'webhookUrl',
  '*.webhookUrl',
];

export function createLogger(
  options: LoggerOptions,
  destination: NodeJS.WritableStream = process.stderr,
): Logger {
  const usePretty =
    options.format === 'pretty' || (options.format === 'auto' && process.stderr.isTTY === true);
  const base = { level: options.level, redact: { paths: REDACT, censor: '[redacted]' }, base: undefined };
  if (usePretty) {
    // Loaded only for a terminal: containers log JSON and need not pay for it.
    const pretty = createRequire(import.meta.url)('pino-pretty') as (options: PrettyOptions) => PrettyStream;
    return pino(
      base,
      pretty({ destination, sync: true, colorize: process.stderr.isTTY === true, ignore: 'pid,hostname' }),
    );
  }
  return pino(base, pino.destination({ dest: 2, sync: true }));
}

/** A logger that drops everything: the default for library callers and unit tests. */
export const silentLogger: Logger = pino({ level: 'silent' });

/** postgres://user:secret@host/db -> postgres://user:***@host/db, and the same for any URL. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}
