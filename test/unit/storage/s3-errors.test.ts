import { describe, expect, it } from 'vitest';
import type { S3Config } from '../../../src/config/load.js';
import { explainS3Error, StoreUnavailableError } from '../../../src/storage/s3-errors.js';

const config: S3Config = {
  bucket: 'backups',
  prefix: 'prod/',
  endpoint: 'https://minio.internal:9000',
  region: 'us-east-1',
  forcePathStyle: true,
  credentials: undefined,
};

const sdkError = (name: string, status?: number): Error =>
  Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status } });

describe('explainS3Error', () => {
  it.each([
    [
      Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:9000'), { code: 'ECONNREFUSED' }),
      /Cannot reach the S3 endpoint https:\/\/minio.internal:9000 \(bucket "backups"\).*check S3_ENDPOINT/i,
    ],
    [
      Object.assign(new Error('getaddrinfo ENOTFOUND minio'), { code: 'ENOTFOUND' }),
      /Cannot reach the S3 endpoint/,
    ],
    [sdkError('TimeoutError'), /Cannot reach the S3 endpoint/],
    [
      sdkError('NoSuchBucket', 404),
      /The S3 bucket "backups" does not exist at https:\/\/minio.internal:9000: check S3_BUCKET/,
    ],
    [
      sdkError('InvalidAccessKeyId', 403),
      /refused access to bucket "backups" \(InvalidAccessKeyId\): check AWS_ACCESS_KEY_ID/,
    ],
    [sdkError('AccessDenied', 403), /refused access/],
    [sdkError('PermanentRedirect', 301), /check S3_REGION/],
  ])('%s', (error, message) => {
    const explained = explainS3Error(error, config);
    expect(explained).toBeInstanceOf(StoreUnavailableError);
    expect((explained as Error).message).toMatch(message);
    expect((explained as StoreUnavailableError).exitCode).toBe(1);
  });

  it.each([sdkError('PreconditionFailed', 412), sdkError('InternalError', 500), sdkError('NotFound', 404)])(
    'leaves %s to its caller',
    (error) => {
      expect(explainS3Error(error, config)).toBe(error);
    },
  );

  it('names AWS S3 and the region without an endpoint', () => {
    const explained = explainS3Error(sdkError('NoSuchBucket', 404), { ...config, endpoint: undefined });
    expect((explained as Error).message).toContain('AWS S3 (region us-east-1)');
  });
});
