import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';
import type { FetchFunction } from '@slack/web-api';

type FetchRequestInit = NonNullable<Parameters<FetchFunction>[1]>;
type FetchResponse = Awaited<ReturnType<FetchFunction>>;

/**
 * How long an idle kept-alive connection to the Slack API stays open (undici's default, which `fetch` used): a
 * socket the server already closed is not reused for a POST, which would fail without having been sent.
 */
const IDLE_SOCKET_MS = 4_000;

const agents = {
  'http:': new http.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
  'https:': new https.Agent({ keepAlive: true, timeout: IDLE_SOCKET_MS }),
};

function headersOf(raw: http.IncomingHttpHeaders): FetchResponse['headers'] {
  const value = (v: string | string[] | undefined) => (v === undefined ? null : Array.isArray(v) ? v.join(', ') : v);
  return {
    get: (name: string) => value(raw[name.toLowerCase()]),
    entries: () => Object.entries(raw).flatMap(([name, v]): [string, string][] => (v === undefined ? [] : [[name, value(v)!]])),
  };
}

/** The body as it came, decoded when the server compressed it anyway (none is asked for). */
function decoded(body: Buffer, encoding: string | undefined): Buffer {
  switch (encoding?.trim().toLowerCase()) {
    case 'gzip':
    case 'x-gzip':
      return zlib.gunzipSync(body);
    case 'deflate':
      return zlib.inflateSync(body);
    case 'br':
      return zlib.brotliDecompressSync(body);
    default:
      return body;
  }
}

/**
 * The `fetch` the Slack Web API client is given for its calls (its `fetch` option): one `node:http(s)` request on a
 * kept-alive connection, answered with the parts of a Response the client reads. Node's `fetch` cost about 0.4 ms
 * of CPU more per call (its Request, Headers and web streams, and a body written in several socket writes), half of
 * what a post to Slack cost the bridge (issue 17). Everything else stays the SDK's: the form encoding, the result,
 * its errors. It fails as `fetch` does, so errors read the same way (network-error.ts): a socket error as
 * `TypeError('fetch failed')` with the error as its cause, a timeout or abort as the signal's reason, a redirect
 * (the client asks for `redirect: 'error'`) as a failed fetch. A body other than the form text (a file upload's
 * FormData, which the bridge never sends) goes to the global `fetch`.
 */
export function slackFetch(url: string | URL, init: FetchRequestInit = {}): Promise<FetchResponse> {
  if (init.body !== undefined && typeof init.body !== 'string') return fetch(url, init);
  const target = new URL(url);
  const agent = agents[target.protocol as keyof typeof agents];
  if (!agent) return Promise.reject(new TypeError('fetch failed', { cause: new Error(`unsupported protocol ${target.protocol}`) }));
  const body = init.body;
  const { signal } = init;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: error }));
    };
    const headers: Record<string, string | number> = { ...init.headers };
    if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
    const request = (target.protocol === 'https:' ? https : http).request(target, { method: init.method ?? 'GET', headers, agent, ...(signal ? { signal } : {}) }, (response) => {
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400 && init.redirect === 'error') {
        response.resume();
        return fail(new Error('unexpected redirect'));
      }
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', fail);
      response.on('close', () => {
        if (!response.complete) fail(new Error('terminated'));
      });
      response.on('end', () => {
        if (settled) return;
        let bytes: Buffer;
        try {
          bytes = decoded(Buffer.concat(chunks), response.headers['content-encoding']);
        } catch (error) {
          return fail(error);
        }
        settled = true;
        resolve({
          status,
          statusText: response.statusMessage ?? '',
          url: target.href,
          ok: status >= 200 && status < 300,
          headers: headersOf(response.headers),
          text: async () => bytes.toString('utf8'),
          json: async () => JSON.parse(bytes.toString('utf8')) as unknown,
          arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
        });
      });
    });
    request.on('error', fail);
    request.end(body);
  });
}
