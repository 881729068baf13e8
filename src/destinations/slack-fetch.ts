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
 * A header value as fetch's Headers keeps it: without leading or trailing tabs, spaces, CR or LF. A bot token read
 * from a file or a secret often ends in a newline; fetch sent it trimmed, node:http refuses the whole request
 * (ERR_INVALID_CHAR), which made every post a retryable "network" failure.
 */
function headerValue(value: string): string {
  return value.replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
}

/** The body as text, without a leading byte order mark: fetch's text() drops it, and JSON.parse fails on it. */
function textOf(bytes: Buffer): string {
  return bytes.toString('utf8', bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0);
}

/**
 * The `fetch` the Slack Web API client is given for its calls (its `fetch` option): one `node:http(s)` request on a
 * kept-alive connection, answered with the parts of a Response the client reads. Node's `fetch` cost about 0.4 ms
 * of CPU more per call (its Request, Headers and web streams, and a body written in several socket writes), half of
 * what a post to Slack cost the bridge (issue 17). Everything else stays the SDK's: the form encoding, the result,
 * its errors. It fails as `fetch` does, so errors read the same way (network-error.ts): a socket error as
 * `TypeError('fetch failed')` with the error as its cause, a timeout or abort as the signal's reason, a redirect
 * (the client asks for `redirect: 'error'`) as a failed fetch. A whole answer is kept whatever the socket does after
 * it, and its text loses a leading byte order mark, as fetch's does. A body other than the form text (a file upload's
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
    let answer: http.IncomingMessage | undefined;
    const refuse = (error: unknown) => {
      if (settled) return;
      settled = true;
      reject(signal?.aborted ? signal.reason : new TypeError('fetch failed', { cause: error }));
    };
    // Once the whole answer is in, what the socket does next (bytes after it in the same read, which the parser
    // rejects) does not undo it: Slack made the call, and failing it would have the outbox post the alert again.
    // Its 'end' (or 'close') settles it, as fetch's does.
    const fail = (error: unknown) => {
      if (answer?.complete && !signal?.aborted) return;
      refuse(error);
    };
    const headers: Record<string, string | number> = {};
    for (const [name, value] of Object.entries(init.headers ?? {})) headers[name] = headerValue(value);
    if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
    const request = (target.protocol === 'https:' ? https : http).request(target, { method: init.method ?? 'GET', headers, agent, ...(signal ? { signal } : {}) }, (response) => {
      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400 && init.redirect === 'error') {
        response.resume();
        return fail(new Error('unexpected redirect'));
      }
      answer = response;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', fail);
      response.on('close', () => (response.complete ? finish() : fail(new Error('terminated'))));
      response.on('end', finish);
      function finish(): void {
        if (settled) return;
        if (signal?.aborted) return refuse(signal.reason);
        let bytes: Buffer;
        try {
          bytes = decoded(Buffer.concat(chunks), response.headers['content-encoding']);
        } catch (error) {
          return refuse(error);
        }
        settled = true;
        resolve({
          status,
          statusText: response.statusMessage ?? '',
          url: target.href,
          ok: status >= 200 && status < 300,
          headers: headersOf(response.headers),
          text: async () => textOf(bytes),
          json: async () => JSON.parse(textOf(bytes)) as unknown,
          arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
        });
      }
    });
    request.on('error', fail);
    request.end(body);
  });
}
