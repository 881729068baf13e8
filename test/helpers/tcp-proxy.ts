/**
 * A TCP forwarder on 127.0.0.1 in front of a real server (PostgreSQL at 127.0.0.1:5432 in the replica tests), so a
 * test can make that server unreachable for one replica without touching the server the whole machine shares:
 * - `cut()`: every connection through the proxy is closed and new ones are closed at once, as when PostgreSQL
 *   restarts (its connections are terminated, and it refuses new ones until it is up again);
 *   (closed, not reset: `resetAndDestroy()` on a socket the other side already half-closed leaves a handle that
 *   Node's exit then spins on for ever, which hung the test process);
 * - `partition()`: nothing is forwarded either way and new connections hang, as when the network between them
 *   drops packets (no reset reaches either side);
 * - `restore()`: forwarding again; a partition's held bytes flow on, as when the network heals.
 */
import net from 'node:net';

type Mode = 'open' | 'cut' | 'partition';

interface Pair {
  client: net.Socket;
  upstream: net.Socket | undefined;
  /** Bytes held during a partition, per direction. */
  toUpstream: Buffer[];
  toClient: Buffer[];
}

export class TcpProxy {
  private readonly server: net.Server;
  private readonly pairs = new Set<Pair>();
  private mode: Mode = 'open';
  /** Connections accepted since start (every mode). */
  connections = 0;

  private constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {
    this.server = net.createServer((client) => this.accept(client));
  }

  /** Starts a proxy on a free port of 127.0.0.1 forwarding to `targetHost:targetPort`. */
  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetHost, targetPort);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** `url` (a postgres:// URL) with its host and port replaced by the proxy's. */
  via(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  /** PostgreSQL down: closes every connection through the proxy; new ones are closed as soon as they arrive. */
  cut(): void {
    this.mode = 'cut';
    for (const pair of [...this.pairs]) this.drop(pair);
  }

  /** The network drops everything: held, not reset, either way. */
  partition(): void {
    this.mode = 'partition';
  }

  /** Forwarding again (and whatever a partition held is delivered). */
  restore(): void {
    this.mode = 'open';
    for (const pair of this.pairs) {
      if (!pair.upstream) this.connectUpstream(pair);
      this.flush(pair);
    }
  }

  async close(): Promise<void> {
    for (const pair of [...this.pairs]) this.drop(pair);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    this.connections++;
    if (this.mode === 'cut') {
      client.destroy();
      return;
    }
    const pair: Pair = { client, upstream: undefined, toUpstream: [], toClient: [] };
    this.pairs.add(pair);
    client.on('data', (chunk: Buffer) => {
      // Held bytes go first: never overtake what a partition (or a connect still under way) kept back.
      if (this.mode === 'open' && pair.upstream && !pair.upstream.connecting && pair.toUpstream.length === 0) pair.upstream.write(chunk);
      else pair.toUpstream.push(chunk);
    });
    client.on('error', () => this.drop(pair));
    client.on('close', () => this.drop(pair));
    if (this.mode === 'open') this.connectUpstream(pair);
  }

  private connectUpstream(pair: Pair): void {
    const upstream = net.connect(this.targetPort, this.targetHost);
    pair.upstream = upstream;
    upstream.on('connect', () => this.flush(pair));
    upstream.on('data', (chunk: Buffer) => {
      if (this.mode === 'open' && pair.toClient.length === 0) pair.client.write(chunk);
      else pair.toClient.push(chunk);
    });
    upstream.on('error', () => this.drop(pair));
    upstream.on('close', () => this.drop(pair));
  }

  private flush(pair: Pair): void {
    if (this.mode !== 'open' || !pair.upstream || pair.upstream.connecting) return;
    for (const chunk of pair.toUpstream.splice(0)) pair.upstream.write(chunk);
    for (const chunk of pair.toClient.splice(0)) pair.client.write(chunk);
  }

  private drop(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    if (!pair.client.destroyed) pair.client.destroy();
    if (pair.upstream && !pair.upstream.destroyed) pair.upstream.destroy();
  }
}
