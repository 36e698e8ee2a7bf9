/**
 * The one mapping from an S3 failure to what the operator should check. Every S3 request of S3Storage goes
 * through it, so `backup`, `list`, `verify`, `prune`, `restore` and `doctor` all say the same thing: which
 * endpoint and bucket, what went wrong, which setting to check. Errors it does not recognise (a 412 of a
 * conditional write, a 500 of one part) pass through unchanged for their callers to handle.
 */
import type { S3Config } from '../config/load.js';
import { JobError } from '../lib/errors.js';

/** The store cannot be used at all: unreachable, no such bucket, credentials refused. Exit code 1. */
export class StoreUnavailableError extends JobError {
  override readonly name = 'StoreUnavailableError';
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
]);
const CREDENTIAL_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'ExpiredToken',
  'InvalidToken',
  'CredentialsProviderError',
]);

/** Where requests go, for messages: the configured endpoint, or AWS S3 in the region. */
export function describeEndpoint(config: S3Config): string {
  return config.endpoint ?? `AWS S3 (region ${config.region})`;
}

/** The clear error for `error`, or `error` itself when it is not about the store as a whole. */
export function explainS3Error(error: unknown, config: S3Config): unknown {
  if (error instanceof StoreUnavailableError) return error;
  const failure = error as { name?: string; code?: string; Code?: string; message?: string };
  const code = failure.code ?? failure.Code ?? failure.name ?? '';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  const endpoint = describeEndpoint(config);
  const bucket = `"${config.bucket}"`;
  const reason = failure.message ?? String(error);
  if (NETWORK_CODES.has(code) || code === 'TimeoutError' || code === 'RequestTimeout') {
    return new StoreUnavailableError(
      `Cannot reach the S3 endpoint ${endpoint} (bucket ${bucket}): ${reason}. ` +
        'Check S3_ENDPOINT (scheme, host and port), that the service is up and that this host can reach it.',
      { cause: error },
    );
  }
  if (code === 'NoSuchBucket') return missingBucket(config, error);
  if (CREDENTIAL_CODES.has(code) || status === 403) {
    return new StoreUnavailableError(
      `The S3 endpoint ${endpoint} refused access to bucket ${bucket} (${code || status}): ` +
        'check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and that they may list, read, write and delete in the bucket.',
      { cause: error },
    );
  }
  if (code === 'PermanentRedirect' || code === 'AuthorizationHeaderMalformed' || status === 301) {
    return new StoreUnavailableError(
      `Bucket ${bucket} is not in region ${config.region} at ${endpoint} (${code || status}): check S3_REGION.`,
      { cause: error },
    );
  }
  return error;
}

/** The bucket does not exist (a HEAD answers a bare 404, so callers that know it say so here). */
export function missingBucket(config: S3Config, cause?: unknown): StoreUnavailableError {
  return new StoreUnavailableError(
    `The S3 bucket ${`"${config.bucket}"`} does not exist at ${describeEndpoint(config)}: ` +
      'check S3_BUCKET (and S3_ENDPOINT / S3_REGION), or create the bucket.',
    { cause },
  );
}
