/** Socket pairs for the splice tests: real loopback TCP (or unix) connections. */
import net from 'node:net';

/** A listening server handing out connected pairs [outer, inner], both half-open capable. */
export class Pairs {
  private constructor(private readonly srv: net.Server) {}

  /** Listens on 127.0.0.1, or on the unix socket `path`. */
  static async listen(path?: string): Promise<Pairs> {
    const srv = net.createServer({ allowHalfOpen: true });
    await new Promise<void>((r) => (path ? srv.listen(path, r) : srv.listen(0, '127.0.0.1', r)));
    return new Pairs(srv);
  }

  async pair(): Promise<[net.Socket, net.Socket]> {
    const accepted = new Promise<net.Socket>((r) => this.srv.once('connection', r));
    const addr = this.srv.address();
    const c =
      typeof addr === 'string'
        ? net.connect({ path: addr, allowHalfOpen: true })
        : net.connect({ port: addr!.port, host: '127.0.0.1', allowHalfOpen: true });
    await new Promise((r) => c.once('connect', r));
    return [c, await accepted];
  }

  close(): Promise<void> {
    return new Promise<void>((r) => this.srv.close(() => r()));
  }
}

/** L <-> a  ==splice==  b <-> R, from one or two pair sources. */
export async function quad(left: Pairs, right: Pairs = left) {
  const [L, a] = await left.pair();
  const [b, R] = await right.pair();
  return { L, a, b, R };
}

/** Everything `s` sends until its EOF. */
export function collect(s: net.Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on('data', (c: Buffer) => parts.push(c));
  return new Promise((resolve, reject) => {
    s.once('end', () => resolve(Buffer.concat(parts)));
    s.once('error', reject);
  });
}
