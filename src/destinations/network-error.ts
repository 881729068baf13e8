/**
 * One form for "the request never got an answer", whichever client made it: `network: ECONNREFUSED 127.0.0.1:9`,
 * `network: ENOTFOUND slack.example`, `network: timeout`. The clients bury the cause at different depths:
 * discord.js REST (undici) throws the socket error itself; Node's fetch throws `TypeError: fetch failed` with the
 * socket error as `cause`; @slack/web-api wraps that TypeError again as `original` of its request error.
 */

interface Causal {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  address?: unknown;
  port?: unknown;
  hostname?: unknown;
  cause?: unknown;
  original?: unknown;
  errors?: unknown;
}

const SOCKET_CODE = /^(E[A-Z0-9_]+|UND_ERR_[A-Z_]+)$/;

/** The chain error → original → cause → … (and an AggregateError's first error), at most 6 deep. */
function chain(error: unknown): Causal[] {
  const out: Causal[] = [];
  let next: unknown = error;
  while (next !== null && typeof next === 'object' && out.length < 6 && !out.includes(next as Causal)) {
    const e = next as Causal;
    out.push(e);
    next = e.original ?? e.cause ?? (Array.isArray(e.errors) ? e.errors[0] : undefined);
  }
  return out;
}

/**
 * `network: CODE host:port` for an error that means the request got no answer (refused, unresolvable, reset,
 * timed out), else undefined (an HTTP status or a platform error is not a network failure). Never contains a URL,
 * so no webhook token.
 */
export function networkFailure(error: unknown): string | undefined {
  const links = chain(error);
  if (links.some((e) => e.name === 'TimeoutError' || e.name === 'AbortError' || e.code === 'UND_ERR_CONNECT_TIMEOUT' || e.code === 'ETIMEDOUT')) return 'network: timeout';
  const socket = links.find((e) => typeof e.code === 'string' && SOCKET_CODE.test(e.code));
  if (socket) {
    const where = typeof socket.address === 'string' ? ` ${socket.address}${typeof socket.port === 'number' ? `:${socket.port}` : ''}` : typeof socket.hostname === 'string' ? ` ${socket.hostname}` : '';
    return `network: ${String(socket.code)}${where}`;
  }
  // fetch's own refusals (a "bad port", an invalid URL) come as a cause without a code: the innermost message.
  const fetchFailed = links.findIndex((e) => e.name === 'TypeError' && e.message === 'fetch failed');
  if (fetchFailed >= 0) {
    const inner = links.slice(fetchFailed + 1).reverse().find((e) => typeof e.message === 'string' && e.message !== '');
    return `network: ${inner ? String(inner.message) : 'fetch failed'}`.slice(0, 200);
  }
  return undefined;
}
