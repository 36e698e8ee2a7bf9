/**
 * The sidecar's HTTP server (node:http, no framework): GET /livez, /healthz and /metrics, and (unless
 * STATUS_PAGE=false) the read-only status page at GET / with its facts as JSON at GET /api/status.
 * Only GET and HEAD are answered: nothing here starts, deletes or restores anything.
 *
 * /livez is liveness only: it answers 200 from the event loop without any I/O, so it proves the process is
 * up and its event loop turns; orchestrators that restart on a failed probe use it. /healthz is the truth
 * about the database, migrations and backups (readiness, alerting): restarting cannot fix what it reports.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { Logger } from '../lib/logger.js';
import { parsePage, type Status } from './status-model.js';
import { renderStatusPage } from './status-page.js';

export const LIVE_PATH = '/livez';
export const HEALTH_PATH = '/healthz';
export const METRICS_PATH = '/metrics';
export const STATUS_PAGE_PATH = '/';
export const STATUS_API_PATH = '/api/status';

/**
 * The status page's policy, sent as a header (the page repeats it in a meta tag): no script, no frame,
 * no form target, nothing loaded from anywhere; only the inline stylesheet and data: images.
 */
export const STATUS_PAGE_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Bodies at least this large are gzipped for clients that accept it (an hourly schedule's page: ~870 KiB). */
const GZIP_FROM_BYTES = 1024;
const gzipAsync = promisify(gzip);

export interface HealthResponse {
  healthy: boolean;
  body: Record<string, unknown>;
}

export interface ServerHandlers {
  health(): Promise<HealthResponse>;
  metrics(): Promise<{ contentType: string; body: string }>;
  /** The status page's facts for a page of the backup table; absent when STATUS_PAGE=false (404). */
  status?: (page: number) => Promise<Status>;
  logger: Logger;
}

export function createHealthServer(handlers: ServerHandlers): Server {
  const server = createServer((request, response) => {
    void handle(handlers, request, response);
  });
  // Health checks are short; do not let idle keep-alive sockets hold shutdown up.
  server.keepAliveTimeout = 2000;
  server.headersTimeout = 5000;
  server.requestTimeout = 10_000;
  return server;
}

async function handle(
  handlers: ServerHandlers,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const [path, query] = splitUrl(request.url ?? '/');
  try {
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      return await send(response, 405, 'application/json', JSON.stringify({ error: 'method not allowed' }), {
        allow: 'GET, HEAD',
      });
    }
    if (path === LIVE_PATH) {
      return await send(response, 200, 'application/json', JSON.stringify({ status: 'alive' }));
    }
    if (path === HEALTH_PATH) {
      const result = await handlers.health();
      return await send(
        response,
        result.healthy ? 200 : 503,
        'application/json',
        JSON.stringify(result.body),
      );
    }
    if (path === METRICS_PATH) {
      const metrics = await handlers.metrics();
      return await send(response, 200, metrics.contentType, metrics.body);
    }
    if (handlers.status && (path === STATUS_PAGE_PATH || path === STATUS_API_PATH)) {
      const status = await handlers.status(parsePage(new URLSearchParams(query).get('page')));
      const safety = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
      if (path === STATUS_API_PATH) {
        return await send(response, 200, 'application/json', JSON.stringify(status), safety);
      }
      return await send(response, 200, 'text/html; charset=utf-8', renderStatusPage(status), {
        ...safety,
        'content-security-policy': STATUS_PAGE_CSP,
        'x-frame-options': 'DENY',
      });
    }
    const paths = [
      LIVE_PATH,
      HEALTH_PATH,
      METRICS_PATH,
      ...(handlers.status ? [STATUS_PAGE_PATH, STATUS_API_PATH] : []),
    ];
    return await send(response, 404, 'application/json', JSON.stringify({ error: 'not found', paths }));
  } catch (error) {
    handlers.logger.error({ err: error, path }, 'health server request failed');
    return await send(response, 500, 'application/json', JSON.stringify({ error: 'internal error' }));
  }
}

function splitUrl(url: string): [string, string] {
  const mark = url.indexOf('?');
  return mark < 0 ? [url, ''] : [url.slice(0, mark), url.slice(mark + 1)];
}

async function send(
  response: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): Promise<void> {
  const head = { 'content-type': contentType, 'cache-control': 'no-store', ...headers };
  const compress = Buffer.byteLength(body) >= GZIP_FROM_BYTES;
  const gzipped = compress && acceptsGzip(response.req);
  if (compress) Object.assign(head, { vary: 'accept-encoding' });
  if (gzipped) Object.assign(head, { 'content-encoding': 'gzip' });
  response.writeHead(status, head);
  // HEAD gets the headers GET would, without the work of compressing a body it never sends.
  if (response.req.method === 'HEAD') return void response.end();
  response.end(gzipped ? await gzipAsync(body) : body);
}

/** `Accept-Encoding` names gzip (or `*`) without refusing it with q=0. */
function acceptsGzip(request: IncomingMessage): boolean {
  const header = request.headers['accept-encoding'];
  if (typeof header !== 'string') return false;
  return header.split(',').some((part) => {
    const [coding = '', ...params] = part.trim().toLowerCase().split(';');
    const refused = params.some((param) => /^\s*q\s*=\s*0(\.0*)?\s*$/.test(param));
    return (coding.trim() === 'gzip' || coding.trim() === '*') && !refused;
  });
}

export function listen(server: Server, port: number, host: string): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server.address() as AddressInfo);
    });
  });
}

/** Stops accepting, drops idle keep-alive connections and waits for requests in flight. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}
