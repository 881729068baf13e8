/**
 * Tools for the hostile-input suites: a raw HTTP/1.1 client over node:net (exact bytes, lying Content-Length,
 * half-closed or dribbling sockets), an event-loop block meter, a capturing logger and a prototype snapshot.
 */
import net from 'node:net';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import pino, { type Logger } from 'pino';

export interface RawResponse {
  /** 0 when the server closed the connection without answering. */
  status: number;
  headers: Record<string, string>;
  body: string;
  /** The parsed body when it is JSON, else undefined. */
  json: any;
  /** Milliseconds from connect to the socket closing. */
  elapsedMs: number;
}

export interface RawOptions {
  /** Fail (reject) when the server neither answers nor closes within this time. Default 15 s. */
  timeoutMs?: number;
  /** After writing, half-close (`end`: FIN) or tear down (`destroy`) the socket instead of waiting for an answer. */
  after?: 'wait' | 'end' | 'destroy';
}

/** Parses what a server wrote on a `Connection: close` exchange (Content-Length or close-delimited bodies). */
export function parseRawResponse(bytes: Buffer, elapsedMs: number): RawResponse {
  const split = bytes.indexOf('\r\n\r\n');
  if (bytes.length === 0 || split < 0) return { status: 0, headers: {}, body: bytes.toString('latin1'), json: undefined, elapsedMs };
  const [statusLine, ...lines] = bytes.subarray(0, split).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let bodyBytes = bytes.subarray(split + 4);
  if (headers['content-length'] !== undefined) bodyBytes = bodyBytes.subarray(0, Number(headers['content-length']));
  const body = bodyBytes.toString('utf8');
  let json: unknown;
  try {
    json = body === '' ? undefined : JSON.parse(body);
  } catch {
    json = undefined;
  }
  return { status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1] ?? 0), headers, body, json, elapsedMs };
}

/** Sends `request` (exact bytes) to 127.0.0.1:`port` and collects everything the server writes until it closes. */
export function rawRequest(port: number, request: Buffer | string, options: RawOptions = {}): Promise<RawResponse> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer and no close within ${options.timeoutMs ?? 15_000} ms (server hung)`));
    }, options.timeoutMs ?? 15_000);
    socket.on('data', (chunk) => chunks.push(chunk));
    // A reset after a partial answer is still an answer; the caller judges the status.
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(parseRawResponse(Buffer.concat(chunks), Date.now() - started));
    });
    socket.write(request, () => {
      if (options.after === 'end') socket.end();
      else if (options.after === 'destroy') socket.destroy();
    });
  });
}

/** An HTTP/1.1 POST with exact headers (a header set to `undefined` is left out) and `Connection: close`. */
export function httpPost(path: string, body: Buffer | string, headers: Record<string, string | number | undefined>): Buffer {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
  const all: Record<string, string | number | undefined> = { Host: '127.0.0.1', Connection: 'close', 'Content-Length': bytes.length, ...headers };
  const head = Object.entries(all)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
  return Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\n${head}\r\n`, 'latin1'), bytes]);
}

const RESOLUTION_MS = 10;

/**
 * Longest event-loop stall, from perf_hooks' histogram: a 10 ms timer whose recorded values are whole intervals
 * (an idle loop records ~10 ms, a 100 ms block ~110 ms), so the stall is the longest interval minus the
 * resolution. Stalls shorter than a tick or two read as a few ms of jitter. `reset()` before a case, `maxMs()` after.
 */
export class BlockMeter {
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  /** Every case's reading (the shortest of its attempts), in order, with all its attempts. */
  readonly readings: { label: string; ms: number; attempts: number[] }[] = [];

  start(): void {
    this.histogram.enable();
  }

  stop(): void {
    this.histogram.disable();
  }

  reset(): void {
    this.histogram.reset();
  }

  /** Longest stall since the last reset, in ms (0 when no tick was recorded yet). */
  maxMs(): number {
    const max = this.histogram.max;
    // An empty histogram (no tick yet) reports max 0.
    return Number.isFinite(max) && max > 0 ? Math.max(0, max / 1e6 - RESOLUTION_MS) : 0;
  }

  /** Runs `fn`; returns its result and the longest stall while it ran (plus a 15 ms tail: one more timer tick). */
  async measure<T>(fn: () => Promise<T>): Promise<{ value: T; blockMs: number }> {
    this.reset();
    const value = await fn();
    await new Promise((resolve) => setTimeout(resolve, 15));
    return { value, blockMs: this.maxMs() };
  }

  /**
   * Measures up to `attempts` runs of `fn` (fresh input each time is the caller's business), stopping at the first
   * under `boundMs`, and records the shortest. Why: on a loaded machine the scheduler adds stray pauses of 50–150 ms
   * to any request; a real stall repeats on every attempt, noise does not.
   */
  async bounded<T>(label: string, boundMs: number, fn: () => Promise<T>, attempts = 3): Promise<{ value: T; blockMs: number }> {
    const readings: number[] = [];
    let best: { value: T; blockMs: number } | undefined;
    for (let i = 0; i < attempts; i++) {
      const result = await this.measure(fn);
      readings.push(result.blockMs);
      if (!best || result.blockMs < best.blockMs) best = result;
      if (result.blockMs < boundMs) break;
    }
    this.readings.push({ label, ms: best!.blockMs, attempts: readings });
    return best!;
  }

  /** The `n` longest readings and the cases that needed another attempt, as text for the record. */
  summary(n = 5): string {
    const sorted = [...this.readings].sort((a, b) => b.ms - a.ms);
    const median = sorted[Math.floor(sorted.length / 2)]?.ms ?? 0;
    const retried = this.readings.filter((r) => r.attempts.length > 1);
    const rawWorst = Math.max(0, ...this.readings.flatMap((r) => r.attempts));
    return `${this.readings.length} cases, median ${median.toFixed(0)} ms, longest: ${sorted
      .slice(0, n)
      .map((r) => `${r.label} ${r.ms.toFixed(0)} ms`)
      .join('; ')}; worst single attempt ${rawWorst.toFixed(0)} ms; re-measured: ${
      retried.map((r) => `${r.label} [${r.attempts.map((ms) => ms.toFixed(0)).join(', ')}]`).join('; ') || 'none'
    }`;
  }
}

/** A pino logger writing JSON lines into memory, so a test can assert on levels and messages. */
export function capturingLogger(): { logger: Logger; lines: () => Record<string, any>[] } {
  const raw: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void raw.push(line) });
  return { logger, lines: () => raw.map((line) => JSON.parse(line) as Record<string, any>) };
}

const PROTOTYPES: [string, object][] = [
  ['Object.prototype', Object.prototype],
  ['Array.prototype', Array.prototype],
  ['Function.prototype', Function.prototype],
  ['String.prototype', String.prototype],
];

/** Own property names of the built-in prototypes payloads most often try to pollute. */
export function prototypeSnapshot(): Record<string, string[]> {
  return Object.fromEntries(PROTOTYPES.map(([name, proto]) => [name, Reflect.ownKeys(proto).map(String).sort()]));
}

/** The keys that a pollution attempt would make visible on a fresh object. */
export function pollutionProbe(): Record<string, unknown> {
  const probe = {} as Record<string, unknown>;
  return { polluted: probe.polluted, isAdmin: probe.isAdmin, x: probe.x, toStringTag: Object.prototype.toString.call(probe) };
}
