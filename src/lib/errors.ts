/**
 * The few error classes of chatflow-db. Each carries the exit code the CLI returns and a message that
 * tells the user what to do next. Wrap lower-level errors with `{ cause }`.
 */

export const ExitCode = {
  ok: 0,
  /** A job ran and failed: backup, restore, migration, verification. Nothing was lost. */
  failed: 1,
  /** Bad usage or configuration: unknown option, invalid name or environment variable. Nothing ran. */
  usage: 2,
  /** `status`: the database is reachable but migrations are pending. */
  pending: 3,
  /** The database could not be reached (gave up waiting, authentication failed, database missing). */
  unreachable: 4,
  /** Refused to act on the database's state: edited/removed/out-of-order migrations, unknown schema. */
  refused: 5,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class ChatflowError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Environment/configuration problems, all reported at once. */
export class ConfigError extends ChatflowError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n  - ${problems.join('\n  - ')}`, ExitCode.usage);
    this.problems = problems;
  }
}

/** Bad command-line input (a backup name, an unknown backup, a bad flag). */
export class UsageError extends ChatflowError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, ExitCode.usage, options);
  }
}

/** A job that ran and failed. */
export class JobError extends ChatflowError {
  constructor(message: string, options?: { cause?: unknown; exitCode?: ExitCode }) {
    super(message, options?.exitCode ?? ExitCode.failed, options);
  }
}

export function exitCodeOf(error: unknown): ExitCode {
  return error instanceof ChatflowError ? error.exitCode : ExitCode.failed;
}

/** The message of an error and of its causes, one per line, for logs and the terminal. */
export function describeError(error: unknown): string {
  const lines: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && current !== null && depth < 5; depth++) {
    const message = current instanceof Error ? current.message : JSON.stringify(current);
    // A cause whose message is already in the text (wrapped errors often quote it) adds nothing.
    if (!lines.some((line) => line.includes(message)))
      lines.push(depth === 0 ? message : `caused by: ${message}`);
    current = current instanceof Error ? current.cause : undefined;
  }
  return lines.join('\n');
}
