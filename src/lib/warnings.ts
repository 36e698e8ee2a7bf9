/**
 * Process warnings (Node's own, and libraries' `process.emitWarning`, such as the AWS SDK's multi-line
 * Node-version notice) go through the logger: one log line each, so a JSON log stream stays one JSON
 * object per line. Node's default printer, which writes raw text to stderr, is removed.
 */
import type { Logger } from './logger.js';

export function routeWarningsToLogger(logger: () => Logger): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    // The AWS SDK puts its own name first in the message ("NodeVersionSupportWarning: ...").
    const named = /^(\w+Warning): ([\s\S]*)$/.exec(warning.message);
    const name = named?.[1] ?? warning.name;
    const text = (named?.[2] ?? warning.message).replace(/\s*\n\s*/g, ' ').trim();
    logger().warn({ warning: name }, `${name}: ${text}`);
  });
}
