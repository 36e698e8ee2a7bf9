/** What the CLI hands each job module's command registration. */
import type { Config } from '../config/load.js';
import type { ExitCode } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';

export interface CommandContext {
  /** The validated configuration (loaded once; throws ConfigError listing every problem). */
  config(): Readonly<Config>;
  logger(): Logger;
  /** Command output for the user (tables, JSON); logs go to stderr. */
  stdout(text: string): void;
  /** A line for the user on stderr that is not a log line (keygen's public key, as age-keygen prints it). */
  stderr(text: string): void;
  /** Exit code for a job that ended without throwing (e.g. `status` with pending migrations). */
  setExitCode(code: ExitCode): void;
}
