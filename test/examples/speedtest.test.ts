/**
 * The speedtest example run as a user would: it streams data and periodic kernel
 * measurements as JSON lines.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { createInterface } from 'node:readline';
import { test } from 'node:test';

const root = new URL('../../', import.meta.url).pathname;

interface Measurement {
  elapsedMs: number;
  written: number;
  bytesAcked: number;
  rttUs: number;
  minRttUs: number;
  cwnd: number;
  deliveryRate: number;
  retransmits: number;
}

/** GETs `url`; keeps the measurement lines (filler has no `{`), counts every byte. */
function get(url: string): Promise<{ status: number; length: number; measurements: string[] }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        const measurements: string[] = [];
        let length = 0;
        let open: string | null = null; // a measurement line cut by a chunk boundary
        res.setEncoding('latin1');
        res.on('data', (chunk: string) => {
          length += chunk.length;
          let from = 0;
          for (;;) {
            if (open === null) {
              const start = chunk.indexOf('{', from);
              if (start < 0) break;
              open = '';
              from = start;
            }
            const end = chunk.indexOf('\n', from);
            if (end < 0) {
              open += chunk.slice(from);
              break;
            }
            measurements.push(open + chunk.slice(from, end));
            open = null;
            from = end + 1;
          }
        });
        res.on('end', () => resolve({ status: res.statusCode!, length, measurements }));
        res.on('error', reject);
      })
      .on('error', reject);
  });
}

test(
  'speedtest example streams data and periodic kernel measurements as JSON lines',
  { timeout: 20000 },
  async (t) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'examples/speedtest.ts', '--port', '0'],
      {
        cwd: root,
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = new Promise((r) => child.once('exit', r));
    try {
      const first = await new Promise<string>((resolve, reject) => {
        createInterface({ input: child.stdout }).once('line', resolve);
        child.once('exit', (c) => reject(new Error(`example exited with ${c}`)));
      });
      const base = (JSON.parse(first) as { listening: string }).listening;
      assert.match(base, /^http:\/\/127\.0\.0\.1:\d+$/);

      const { status, length, measurements } = await get(`${base}/download?seconds=1`);
      assert.equal(status, 200);
      const ms = measurements.map((l) => JSON.parse(l) as Measurement);
      t.diagnostic(`${ms.length} measurements, ${length} bytes; last ${JSON.stringify(ms.at(-1))}`);

      // About every 250 ms for 1 s, plus the final one; the count depends on timers, so be loose.
      assert.ok(ms.length >= 3, `only ${ms.length} measurements`);
      for (const m of ms) {
        for (const k of [
          'elapsedMs',
          'written',
          'bytesAcked',
          'rttUs',
          'minRttUs',
          'cwnd',
          'deliveryRate',
          'retransmits',
        ] as const) {
          assert.equal(typeof m[k], 'number', k);
        }
        assert.ok(m.rttUs > 0 && m.minRttUs > 0 && m.minRttUs <= m.rttUs + 1000, JSON.stringify(m));
        assert.ok(m.cwnd > 0);
      }
      for (let i = 1; i < ms.length; i++) {
        assert.ok(ms[i]!.elapsedMs >= ms[i - 1]!.elapsedMs);
        assert.ok(ms[i]!.bytesAcked >= ms[i - 1]!.bytesAcked);
      }
      const last = ms.at(-1)!;
      assert.ok(last.elapsedMs >= 1000);
      assert.ok(last.bytesAcked > 0 && last.deliveryRate > 0);
      // The kernel cannot have acknowledged more than the client received (+ head and SYN).
      assert.ok(last.bytesAcked <= length + 1024, `${last.bytesAcked} acked, ${length} received`);
      assert.ok(last.written > 0 && last.written <= length);

      assert.equal((await get(`${base}/download?seconds=99`)).status, 400);
      assert.equal((await get(`${base}/nope`)).status, 404);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  },
);
