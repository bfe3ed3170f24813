import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rawErrorResponse } from '../../src/gateway/forward/reply.js';

test('rawErrorResponse: Content-Length counts the UTF-8 body it sends, any message', () => {
  for (const message of ['plain', 'limit ≥ 16 KiB', 'naïve — 名前 🚢']) {
    const raw = rawErrorResponse(502, message);
    const end = raw.indexOf('\r\n\r\n');
    const head = raw.subarray(0, end).toString('latin1');
    const body = raw.subarray(end + 4);
    assert.match(head, /^HTTP\/1\.1 502 Bad Gateway\r\n/);
    assert.match(head, /\r\nConnection: close$/);
    assert.equal(Number(/Content-Length: (\d+)/.exec(head)?.[1]), body.length);
    assert.deepEqual(JSON.parse(body.toString('utf8')), { message });
  }
});
