import { createHash } from 'node:crypto';

/** Normalises a migration's text so that an editor's BOM or CRLF line endings do not change its identity. */
export function normaliseMigrationText(text: string): string {
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
}

/** sha256 (hex) of the normalised text: what the tracking table stores for each applied file. */
export function migrationChecksum(text: string): string {
  return createHash('sha256').update(normaliseMigrationText(text), 'utf8').digest('hex');
}
