/**
 * The developer tools are modules that tests import and scripts that npm runs. `runAsMain` runs `main`
 * only in the second case, and reports a failure once, as the CLI does: logged, then the exit code.
 */
import { pathToFileURL } from 'node:url';
import { defaultValue } from '../src/config/settings.js';
import { describeError, exitCodeOf } from '../src/lib/errors.js';
import { createLogger, type Logger } from '../src/lib/logger.js';

export interface MainContext {
  /** Starts with the default log settings; `main` may replace it once it has loaded the configuration. */
  logger: Logger;
}

export async function runAsMain(
  moduleUrl: string,
  main: (context: MainContext) => void | Promise<void>,
): Promise<void> {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(process.argv[1]).href) return;
  const context: MainContext = {
    logger: createLogger({ level: defaultValue('LOG_LEVEL'), format: defaultValue('LOG_FORMAT') }),
  };
  try {
    await main(context);
  } catch (error) {
    context.logger.error(describeError(error));
    process.exitCode = exitCodeOf(error);
  }
}
