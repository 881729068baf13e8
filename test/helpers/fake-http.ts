/**
 * Shared plumbing for the loopback fakes (fake-slack.ts, fake-discord.ts): a node:http server on 127.0.0.1 that
 * tracks every socket (so close() is prompt even with hanging responses and keep-alive clients), records every
 * request, injects faults and lets tests wait for recorded messages.
 *
 * Plain node:http rather than express: the fakes need byte-level control (hang, reset, exact headers) and must not
 * depend on the production server stack they are meant to test.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** One HTTP request as the fake saw it, including rejected, faulted and hanging ones. */
export interface RecordedRequest {
  /** 1-based arrival order. */
  seq: number;
  /** HTTP method (GET, POST, PATCH…). */
  method: string;
  /** URL path without the query string, e.g. `/api/chat.postMessage`. */
  path: string;
  /** Query parameters (last value wins). */
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  /** Parsed body (form fields with JSON-decoded objects for Slack, JSON for Discord); undefined if unparseable. */
  body: unknown;
  /** Platform route label: Slack method (`chat.postMessage`) or Discord template (`POST /channels/:id/messages`). */
  route: string;
  receivedAt: number;
  /** HTTP status sent, or null while pending / when the request hung or was reset. */
  status: number | null;
  outcome: 'pending' | 'responded' | 'hang' | 'reset';
  /** Parsed response body (JSON) or text. */
  responseBody?: unknown;
  /** Set when a fault was injected for this request (its `kind`). */
  fault?: string;
}

/** Faults both fakes understand. Platform fakes add their own `{ kind: 'error' … }` variant. */
export type BaseFault =
  /** Respond with this HTTP status (body defaults to something platform-typical). */
  | { kind: 'http'; status: number; body?: unknown; headers?: Record<string, string> }
  /** HTTP 429 with `Retry-After` (seconds) and the platform's 429 body. */
  | { kind: 'rateLimit'; retryAfterSec: number; global?: boolean }
  /** Never answer (until close()); exercises client timeouts. */
  | { kind: 'hang' }
  /** Destroy the socket with a TCP RST: the client sees ECONNRESET / "socket hang up". */
  | { kind: 'reset' };

/** Shorthands accepted wherever a fault is: a number is an HTTP status (429 → 1 s rate limit). */
export type FaultShorthand = number | 'hang' | 'reset';

/** Counters kept by every fake. */
export interface FakeCounters {
  requests: number;
  /** Messages accepted and recorded (creates and edits). */
  accepted: number;
  /** Requests answered with a non-success (auth, validation, unknown channel…), faults excluded. */
  rejected: number;
  /** Individual violation strings recorded. */
  violations: number;
  /** 429s produced by the per-channel rate-limit mode (not by injected faults). */
  rateLimited: number;
  /** Injected faults served. */
  faults: number;
  /** Accepted messages per channel id. */
  perChannel: Record<string, number>;
}

/** Predicate deciding whether a queued fault applies to a request. */
export type FaultMatcher = (req: RecordedRequest) => boolean;

interface QueuedFault<F> {
  remaining: number;
  fault: F;
  match?: FaultMatcher;
}

interface Waiter {
  done: () => boolean;
  resolve: () => void;
}

/** Reads a request body completely (capped so a runaway client cannot exhaust memory). */
export function readBody(req: http.IncomingMessage, limit = 32 * 1024 * 1024): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new Error(`body over ${limit} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** Last-value-wins query map. */
export function queryObject(url: URL): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of url.searchParams) out[k] = v;
  return out;
}

/**
 * Base class for the fakes. Subclasses implement `handle()` and `describeMessage()`; everything about sockets,
 * recording, fault queues and waiting lives here so both fakes behave identically.
 */
export abstract class FakeHttpServer<Msg, Fault> {
  /** Every request received, in order (including rejected, faulted and hanging ones). */
  readonly requests: RecordedRequest[] = [];
  /** Every accepted message (create or edit), in order. */
  readonly messages: Msg[] = [];
  /** Human-readable rule violations (`<route> <json path>: <problem>`); assert `toEqual([])`. */
  readonly violations: string[] = [];
  readonly counters: FakeCounters = FakeHttpServer.emptyCounters();
  /**
   * Optional hook consulted before the failNext queue; return a fault to inject it for this request.
   * Set it to undefined to remove it.
   */
  behaviour: ((req: RecordedRequest) => Fault | FaultShorthand | undefined) | undefined;
  /**
   * Optional hook awaited before a request is answered (after it is recorded and classified): return a promise to
   * keep that request in flight until the test resolves it, e.g. to do something while the client waits.
   */
  gate: ((req: RecordedRequest) => Promise<void> | undefined) | undefined;

  protected readonly server: http.Server;
  protected port = 0;
  private readonly sockets = new Set<Socket>();
  private readonly faultQueue: QueuedFault<Fault>[] = [];
  private readonly waiters = new Set<Waiter>();
  private closed = false;

  protected constructor() {
    this.server = http.createServer((req, res) => {
      void this.dispatch(req, res);
    });
    // Track sockets ourselves: server.close() waits for keep-alive and hanging sockets otherwise.
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  private static emptyCounters(): FakeCounters {
    return { requests: 0, accepted: 0, rejected: 0, violations: 0, rateLimited: 0, faults: 0, perChannel: {} };
  }

  /** Binds to 127.0.0.1 on a random free port. */
  protected async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  /** `http://127.0.0.1:PORT` */
  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Injects `fault` into the next `n` requests (optionally only those `match` accepts; a string matches the
   * route label by prefix, e.g. `'chat.postMessage'` or `'POST /webhooks'`). Queued faults are used in order.
   */
  failNext(n: number, fault: Fault | FaultShorthand, match?: string | FaultMatcher): void {
    const m: FaultMatcher | undefined =
      typeof match === 'string' ? (r) => r.route.startsWith(match) : match;
    this.faultQueue.push({ remaining: n, fault: this.normalizeFault(fault), match: m });
  }

  /** Clears recorded requests/messages/violations/counters and queued faults (state such as posted messages stays). */
  reset(): void {
    this.requests.length = 0;
    this.messages.length = 0;
    this.violations.length = 0;
    this.faultQueue.length = 0;
    Object.assign(this.counters, FakeHttpServer.emptyCounters());
  }

  /** Resolves with a copy of the messages once at least `n` were recorded; rejects with a diagnostic on timeout. */
  waitForMessages(n: number, timeoutMs = 5000): Promise<Msg[]> {
    return this.waitFor(() => this.messages.length >= n, timeoutMs, `${n} message(s)`).then(() => this.messages.slice());
  }

  /** Resolves once at least `n` requests (any outcome) arrived; useful for retry/timeout tests. */
  waitForRequests(n: number, timeoutMs = 5000): Promise<RecordedRequest[]> {
    return this.waitFor(() => this.requests.length >= n, timeoutMs, `${n} request(s)`).then(() => this.requests.slice());
  }

  /** Generic wait: resolves when `done()` becomes true after some request or message was recorded. */
  waitFor(done: () => boolean, timeoutMs: number, label: string): Promise<void> {
    if (done()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        done,
        resolve: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`${this.constructor.name}: timed out after ${timeoutMs} ms waiting for ${label}.\n${this.diagnostics()}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  /** A multi-line summary of what arrived, used in timeout errors. */
  diagnostics(): string {
    const msgs = this.messages.map((m, i) => `  #${i + 1} ${this.describeMessage(m)}`);
    const reqs = this.requests.map(
      (r) => `  ${r.seq}. ${r.method} ${r.path} [${r.route}] -> ${r.status ?? r.outcome}${r.fault ? ` (fault ${r.fault})` : ''}`,
    );
    return [
      `messages (${this.messages.length}):`,
      ...(msgs.length ? msgs : ['  (none)']),
      `requests (${this.requests.length}):`,
      ...(reqs.length ? reqs : ['  (none)']),
      `violations (${this.violations.length}):`,
      ...this.violations.map((v) => `  ${v}`),
    ].join('\n');
  }

  /** Stops listening and destroys every socket (hanging ones too) so jest can exit. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const done = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    for (const s of this.sockets) s.destroy();
    await done;
  }

  protected abstract handle(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    rec: RecordedRequest,
    raw: Buffer,
  ): Promise<void> | void;

  /** Renders a fault; subclasses handle `rateLimit`, `error` and default `http` bodies. */
  protected abstract renderFault(res: http.ServerResponse, rec: RecordedRequest, fault: Fault): void;

  /** One-line summary of a recorded message for diagnostics. */
  protected abstract describeMessage(m: Msg): string;

  /** Maps shorthands to the platform's fault type. */
  protected abstract normalizeFault(f: Fault | FaultShorthand): Fault;

  /** Subclasses set `rec.route` and `rec.body` before faults are looked up. */
  protected abstract classify(req: http.IncomingMessage, rec: RecordedRequest, raw: Buffer): Promise<void> | void;

  private async dispatch(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.origin);
    const raw = await readBody(req).catch(() => Buffer.alloc(0));
    const rec: RecordedRequest = {
      seq: this.requests.length + 1,
      method: req.method ?? 'GET',
      path: url.pathname,
      query: queryObject(url),
      headers: req.headers,
      rawBody: raw.toString('utf8'),
      body: undefined,
      route: '',
      receivedAt: Date.now(),
      status: null,
      outcome: 'pending',
    };
    this.requests.push(rec);
    this.counters.requests++;
    try {
      await this.classify(req, rec, raw);
      await this.gate?.(rec);
      const fault = this.takeFault(rec);
      if (fault !== undefined) {
        this.counters.faults++;
        this.applyFault(req, res, rec, fault);
      } else {
        await this.handle(req, res, rec, raw);
      }
    } catch (err) {
      // A bug in the fake must surface in the test output, not as a hung client.
      this.sendJson(res, rec, 500, { error: `fake server error: ${(err as Error).stack ?? String(err)}` });
    }
    this.notify();
  }

  private takeFault(rec: RecordedRequest): Fault | undefined {
    const hooked = this.behaviour?.(rec);
    if (hooked !== undefined) return this.normalizeFault(hooked);
    const idx = this.faultQueue.findIndex((q) => q.remaining > 0 && (!q.match || q.match(rec)));
    if (idx < 0) return undefined;
    const q = this.faultQueue[idx]!;
    q.remaining--;
    if (q.remaining === 0) this.faultQueue.splice(idx, 1);
    return q.fault;
  }

  private applyFault(req: http.IncomingMessage, res: http.ServerResponse, rec: RecordedRequest, fault: Fault): void {
    const kind = (fault as { kind: string }).kind;
    rec.fault = kind;
    if (kind === 'hang') {
      // Leave the response open; close() destroys the socket.
      rec.outcome = 'hang';
      return;
    }
    if (kind === 'reset') {
      rec.outcome = 'reset';
      const s = req.socket;
      if (typeof s.resetAndDestroy === 'function') s.resetAndDestroy();
      else s.destroy();
      return;
    }
    this.renderFault(res, rec, fault);
  }

  /** Sends JSON and records status/response on `rec`. */
  protected sendJson(
    res: http.ServerResponse,
    rec: RecordedRequest,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ): void {
    rec.status = status;
    rec.outcome = 'responded';
    rec.responseBody = body;
    if (res.headersSent || res.destroyed) return;
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, {
      ...(body === undefined ? {} : { 'Content-Type': 'application/json; charset=utf-8' }),
      'Content-Length': String(Buffer.byteLength(text)),
      ...headers,
    });
    res.end(text);
  }

  /** Sends a non-JSON body (e.g. an HTML 502 from a proxy). */
  protected sendText(res: http.ServerResponse, rec: RecordedRequest, status: number, text: string, type = 'text/plain'): void {
    rec.status = status;
    rec.outcome = 'responded';
    rec.responseBody = text;
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(text)) });
    res.end(text);
  }

  /** Records an accepted message and wakes waiters. */
  protected recordMessage(m: Msg, channelId: string): void {
    this.messages.push(m);
    this.counters.accepted++;
    this.counters.perChannel[channelId] = (this.counters.perChannel[channelId] ?? 0) + 1;
    this.notify();
  }

  /** Records violations (already prefixed) and bumps the counter. */
  protected recordViolations(list: string[]): void {
    this.violations.push(...list);
    this.counters.violations += list.length;
  }

  private notify(): void {
    for (const w of [...this.waiters]) if (w.done()) w.resolve();
  }
}
