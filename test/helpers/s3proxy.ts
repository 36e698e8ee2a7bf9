/**
 * A recording, fault-injecting HTTP proxy in front of s3rver. s3rver implements no
 * AbortMultipartUpload/ListMultipartUploads, so the proxy answers `DELETE ?uploadId=` itself (204) and
 * records it: tests prove that a failed backup aborts its multipart upload. `fault` can fail chosen
 * requests (e.g. the second part) with a status code or a reset connection.
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
}

export type Fault = 'reset' | number | undefined;

export interface S3Proxy {
  endpoint: string;
  requests: RecordedRequest[];
  fault: (req: RecordedRequest) => Fault;
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
  const server: Server = createServer((req: IncomingMessage, res) => {
    const recorded = { method: req.method ?? 'GET', url: req.url ?? '/' };
    proxy.requests.push(recorded);
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
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return proxy;
}
