// enableHijack(server, { takeover }): the requests the filter picks (and every Upgrade and
// CONNECT) keep every byte behind their head; the others are plain Node's, over real sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { enableHijack, hijack, HijackError } from '../../src/index.js';
import { collect, listen, readUntil, sleep, type Handler } from './util.js';

const T = { timeout: 10_000 };
const attachOnly = (req: http.IncomingMessage) => req.url!.startsWith('/attach');

/** Takes the connection over and collects the head and what follows until EOF; closes it. */
function takeAll(req: http.IncomingMessage, res: http.ServerResponse): Promise<Buffer> {
  return hijack(req, res).then(({ socket, head }) =>
    collect(head, socket).finally(() => socket.destroy()),
  );
}

function filtered(h: Handler, takeover: (req: http.IncomingMessage) => boolean = attachOnly) {
  return listen(enableHijack(http.createServer(h), { takeover }));
}

test(
  'a picked request keeps every byte behind its head, pipelined requests included',
  T,
  async () => {
    let got!: Promise<Buffer>;
    const l = await filtered((req, res) => {
      if (req.url === '/attach') {
        got = takeAll(req, res);
      } else res.end('no');
    });
    try {
      const c = l.connect();
      const rest = 'helloGET /next HTTP/1.1\r\nHost: x\r\n\r\nRAW';
      c.end(`POST /attach HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n${rest}`);
      while (!got) await sleep(5);
      assert.equal((await got).toString('latin1'), rest);
    } finally {
      await l.close();
    }
  },
);

for (const filter of [true, false]) {
  test(
    `pipelined behind a slow answer: ${filter ? 'left out, the next request starts at once (plain Node)' : 'without a filter, one at a time (Go)'}`,
    T,
    async () => {
      const events: string[] = [];
      const h: Handler = (req, res) => {
        events.push(`start ${req.url}`);
        if (req.url === '/slow') {
          setTimeout(() => {
            events.push('answer /slow');
            res.end('slow');
          }, 150);
        } else res.end('b');
      };
      const l = await listen(
        filter
          ? enableHijack(http.createServer(h), { takeover: attachOnly })
          : enableHijack(http.createServer(h)),
      );
      try {
        const c = l.connect();
        c.write('GET /slow HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n');
        const all = await readUntil(
          c,
          (b) => (b.toString().match(/HTTP\/1\.1 200/g) ?? []).length === 2,
        );
        c.destroy();
        // Answers stay in order either way.
        assert.match(all.toString(), /slow[\s\S]*HTTP\/1\.1 200[\s\S]*\r\n\r\nb$/);
        assert.deepEqual(
          events,
          filter
            ? ['start /slow', 'start /b', 'answer /slow']
            : ['start /slow', 'answer /slow', 'start /b'],
        );
      } finally {
        await l.close();
      }
    },
  );
}

test(
  'hijack() of a left-out request with nothing behind its head gets a working socket',
  T,
  async () => {
    const l = await filtered((req, res) => {
      void hijack(req, res).then(({ socket, head }) => {
        socket.write(`head=${head.length};`);
        socket.on('data', (d) => socket.write(d));
        socket.on('end', () => socket.end());
      });
    });
    try {
      const c = l.connect();
      c.write('GET /plain HTTP/1.1\r\nHost: x\r\n\r\n');
      await readUntil(c, (b) => b.toString() === 'head=0;');
      c.end('ping');
      const echoed = await readUntil(c, (b) => b.length >= 4);
      assert.equal(echoed.toString(), 'ping');
    } finally {
      await l.close();
    }
  },
);

test(
  'hijack() of a left-out request rejects ERR_BYTES_LOST when Node parsed a request behind it',
  T,
  async () => {
    let result!: Promise<unknown>;
    const l = await filtered((req, res) => {
      if (req.url === '/plain')
        result = hijack(req, res).then(
          () => 'taken',
          (e: unknown) => e,
        );
      else res.end('b');
    });
    try {
      const c = l.connect();
      c.on('error', () => {});
      c.write('GET /plain HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n');
      while (!result) await sleep(5);
      const err = await result;
      assert.ok(err instanceof HijackError, String(err));
      assert.equal(err.code, 'ERR_BYTES_LOST');
      c.destroy();
    } finally {
      await l.close();
    }
  },
);

test('Upgrade and CONNECT are always picked, whatever the filter says', T, async () => {
  for (const head of [
    'GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n',
    'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n',
  ]) {
    let got!: Promise<Buffer>;
    const l = await filtered(
      (req, res) => {
        got = takeAll(req, res);
      },
      () => false,
    );
    try {
      const c = l.connect();
      c.end(`${head}EARLY BYTES`);
      while (!got) await sleep(5);
      assert.equal((await got).toString(), 'EARLY BYTES');
    } finally {
      await l.close();
    }
  }
});

test(
  'after a left-out request is answered, a picked one on the same connection is exact again',
  T,
  async () => {
    let got!: Promise<Buffer>;
    const l = await filtered((req, res) => {
      if (req.url === '/attach') got = takeAll(req, res);
      else res.end('plain');
    });
    try {
      const c = l.connect();
      c.write('GET /plain HTTP/1.1\r\nHost: x\r\n\r\n');
      await readUntil(c, (b) => b.toString().endsWith('plain'));
      c.end(
        'POST /attach HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n',
      );
      while (!got) await sleep(5);
      assert.equal((await got).toString(), 'abcGET / HTTP/1.1\r\n\r\n');
    } finally {
      await l.close();
    }
  },
);

test('enableHijack refuses a takeover option that is not a function', () => {
  assert.throws(
    () => enableHijack(http.createServer(), { takeover: 5 as never }),
    (e: unknown) => e instanceof HijackError && e.code === 'ERR_INVALID_ARGUMENT',
  );
});
