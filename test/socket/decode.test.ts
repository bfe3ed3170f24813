/**
 * The pure decoders of src/socket/: struct tcp_info by offset and length, and the kernel's
 * TCP state names.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeTcpInfo, tcpStateName } from '../../src/socket/index.js';
import { isHijackError } from '../../src/errors.js';

/** A synthetic struct tcp_info: every u32 word at offset o holds 1000 + o. */
function synthetic(): Uint8Array {
  const buf = new Uint8Array(512);
  const dv = new DataView(buf.buffer);
  for (let o = 8; o < 280; o += 4) dv.setUint32(o, 1000 + o, true);
  buf.set([1, 4, 2, 3, 5, 7], 0);
  buf[6] = (9 << 4) | 7; // rcv_wscale 9, snd_wscale 7
  buf[7] = 1 | (2 << 1); // app limited, fastopen_client_fail 2
  // u64 fields: pacing_rate unlimited, bytes_acked above 2^32.
  dv.setUint32(104, 0xffffffff, true);
  dv.setUint32(108, 0xffffffff, true);
  dv.setUint32(120, 5, true);
  dv.setUint32(124, 2, true);
  dv.setUint16(240, 17, true); // total_rto
  dv.setUint16(242, 19, true); // total_rto_recoveries
  return buf;
}

test('decodeTcpInfo reads every field at its offset (280-byte kernel)', { timeout: 5000 }, () => {
  const info = decodeTcpInfo(synthetic(), 280);
  assert.equal(info.state, 1);
  assert.equal(info.caState, 4);
  assert.equal(info.retransmits, 2);
  assert.equal(info.probes, 3);
  assert.equal(info.backoff, 5);
  assert.equal(info.options, 7);
  assert.equal(info.sndWscale, 7);
  assert.equal(info.rcvWscale, 9);
  assert.equal(info.deliveryRateAppLimited, true);
  assert.equal(info.fastopenClientFail, 2);
  assert.equal(info.rto, 1008);
  assert.equal(info.sndMss, 1016);
  assert.equal(info.rtt, 1068);
  assert.equal(info.sndCwnd, 1080);
  assert.equal(info.totalRetrans, 1100);
  assert.equal(info.pacingRate, Infinity);
  assert.equal(info.maxPacingRate, 1112 + 1116 * 2 ** 32);
  assert.equal(info.bytesAcked, 5 + 2 * 2 ** 32);
  assert.equal(info.segsOut, 1136);
  assert.equal(info.minRtt, 1148);
  assert.equal(info.deliveryRate, 1160 + 1164 * 2 ** 32);
  assert.equal(info.delivered, 1192);
  assert.equal(info.sndWnd, 1228);
  assert.equal(info.rcvWnd, 1232);
  assert.equal(info.rehash, 1236);
  assert.equal(info.totalRto, 17);
  assert.equal(info.totalRtoRecoveries, 19);
  assert.equal(info.totalRtoTime, 1244);
  assert.equal(info.receivedCe, 1248);
  assert.equal(info.receivedCeBytes, 1272);
  assert.equal(info.accecnRaw, 1276);
  assert.equal(Object.keys(info).length, 69);
});

test(
  'decodeTcpInfo leaves out what an older kernel did not fill, never a fake 0',
  { timeout: 5000 },
  () => {
    const buf = synthetic();
    const full = decodeTcpInfo(buf, 280);
    // Lengths older kernels return: 104 (base), 232 (6.1), 248 (6.7), and one mid-field cut.
    for (const len of [104, 120, 232, 242, 248, 250]) {
      const info = decodeTcpInfo(buf, len) as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(full)) {
        if (k in info) assert.equal(info[k], v, `${k} at length ${len}`);
      }
      assert.equal(Object.keys(info).length < 69, true);
    }
    const v61 = decodeTcpInfo(buf, 232);
    assert.equal(v61.sndWnd, 1228);
    assert.equal('rcvWnd' in v61, false);
    assert.equal('totalRto' in v61, false);
    const base = decodeTcpInfo(buf, 104);
    assert.equal(base.totalRetrans, 1100);
    assert.equal('pacingRate' in base, false);
    assert.equal('bytesAcked' in base, false);
    const cut = decodeTcpInfo(buf, 242);
    assert.equal(cut.totalRto, 17);
    assert.equal('totalRtoRecoveries' in cut, false);
  },
);

test(
  'decodeTcpInfo takes the smaller of length and buffer size, and unaligned buffers',
  { timeout: 5000 },
  () => {
    const buf = synthetic();
    assert.equal('rcvWnd' in decodeTcpInfo(buf.subarray(0, 232), 280), false);
    const shifted = new Uint8Array(300);
    shifted.set(buf.subarray(0, 280), 1);
    assert.deepEqual(decodeTcpInfo(shifted.subarray(1), 280), decodeTcpInfo(buf, 280));
  },
);

test(
  'decodeTcpInfo refuses a length below the 104-byte base with ERR_SOCKOPT',
  { timeout: 5000 },
  () => {
    for (const len of [0, 50, 103, NaN]) {
      assert.throws(
        () => decodeTcpInfo(synthetic(), len),
        (e) => isHijackError(e, 'ERR_SOCKOPT'),
      );
    }
  },
);

test('tcpStateName names the kernel states', { timeout: 5000 }, () => {
  assert.equal(tcpStateName(1), 'ESTABLISHED');
  assert.equal(tcpStateName(10), 'LISTEN');
  assert.equal(tcpStateName(99), 'UNKNOWN');
});
