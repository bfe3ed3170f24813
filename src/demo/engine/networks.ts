/**
 * Networks in the demo engine: the records (there is no network), enough for
 * docker-compose's default network. The `/networks` routes are network-api.ts.
 *
 * @module
 */
import { randomBytes } from 'node:crypto';

/** One network record. */
export interface Network {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: string;
  Labels: Record<string, string>;
}

/** The engine's networks by id; `none` exists from the start. */
export class Networks {
  readonly all = new Map<string, Network>();

  constructor() {
    this.add('none', 'null', {});
  }

  add(name: string, driver: string, labels: Record<string, string>): Network {
    const n: Network = {
      Name: name,
      Id: randomBytes(32).toString('hex'),
      Created: new Date().toISOString(),
      Scope: 'local',
      Driver: driver,
      Labels: labels,
    };
    this.all.set(n.Id, n);
    return n;
  }

  find(ref: string): Network | undefined {
    for (const n of this.all.values()) if (n.Name === ref || n.Id === ref) return n;
    const byPrefix = [...this.all.values()].filter((n) => n.Id.startsWith(ref));
    return byPrefix.length === 1 ? byPrefix[0] : undefined;
  }
}
