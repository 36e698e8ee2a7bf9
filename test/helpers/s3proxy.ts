/**
 * A recording, fault-injecting HTTP proxy in front of s3rver. s3rver implements no
 * AbortMultipartUpload/ListMultipartUploads, so the proxy answers `DELETE ?uploadId=` itself (204) and
 * records it: tests prove that a failed backup aborts its multipart upload. `fault` can fail chosen
 * requests (e.g. the second part) with a status code or a reset connection; `before` runs (and is awaited)
 * before a request is handled, e.g. to let a competing writer store an object at a chosen moment.
 * s3rver ignores `If-None-Match: *` on writes; with `honourIfNoneMatch` the proxy answers such a PutObject
 * or CompleteMultipartUpload with 412 PreconditionFailed when the key exists, like AWS S3.
 */
import {
  createServer,
  request,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export type Fault = 'reset' | number | undefined;

export interface S3Proxy {
  endpoint: string;
  requests: RecordedRequest[];
  fault: (req: RecordedRequest) => Fault;
  before: (req: RecordedRequest) => Promise<void>;
  honourIfNoneMatch: boolean;
  /** Upload ids of CreateMultipartUpload responses seen. */
  abortedUploads(): string[];
  close(): Promise<void>;
}

export async function startS3Proxy(target: string): Promise<S3Proxy> {
  const upstream = new URL(target);
  const proxy: S3Proxy = {
    endpoint: '',
    requests: [],
    fault: () => undefined,
    before: () => Promise.resolve(),
    honourIfNoneMatch: false,
    abortedUploads: () =>
      proxy.requests
        .filter((r) => r.method === 'DELETE' && r.url.includes('uploadId='))
        .map((r) => new URL(r.url, 'http://x').searchParams.get('uploadId') ?? ''),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  /** Whether the key of `url` exists upstream (a HEAD without the query). */
  const exists = (url: string): Promise<boolean> =>
    new Promise((resolve, reject) => {
      const head = request(
        { host: upstream.hostname, port: upstream.port, method: 'HEAD', path: url.split('?')[0] },
        (response) => {
          response.resume();
          resolve(response.statusCode === 200);
        },
      );
      head.on('error', reject);
      head.end();
    });
  const server: Server = createServer((req: IncomingMessage, res) => {
    req.pause();
    const recorded = { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers };
    proxy.requests.push(recorded);
    void handle(recorded, req, res).catch(() => res.destroy());
  });
  const handle = async (
    recorded: RecordedRequest,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> => {
    await proxy.before(recorded);
    const completes =
      (recorded.method === 'PUT' && !recorded.url.includes('partNumber=')) ||
      (recorded.method === 'POST' && recorded.url.includes('uploadId='));
    if (proxy.honourIfNoneMatch && completes && req.headers['if-none-match'] === '*') {
      if (await exists(recorded.url)) {
        req.resume();
        req.on('end', () => {
          res.writeHead(412, { 'content-type': 'application/xml' });
          res.end(
            '<?xml version="1.0"?><Error><Code>PreconditionFailed</Code>' +
              '<Message>At least one of the pre-conditions you specified did not hold</Message></Error>',
          );
        });
        return;
      }
    }
    const fault = proxy.fault(recorded);
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    if (typeof fault === 'number') {
      req.resume();
      req.on('end', () => {
        res.writeHead(fault, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0"?><Error><Code>InternalError</Code><Message>injected</Message></Error>');
      });
      return;
    }
    if (recorded.method === 'DELETE' && recorded.url.includes('uploadId=')) {
      req.resume();
      req.on('end', () => {
        res.writeHead(204);
        res.end();
      });
      return;
    }
    const forward = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (upstreamRes) => {
        res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.headers);
        upstreamRes.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    // A client that goes away mid-request (an aborted upload) must not leave s3rver waiting for the rest
    // of the body: that connection would hold s3rver's close() up until its request timeout (5 min).
    res.on('close', () => {
      if (!res.writableFinished) forward.destroy();
    });
    req.pipe(forward);
  };
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
