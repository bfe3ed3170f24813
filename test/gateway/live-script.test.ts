/**
 * The live page's script is a real module (src/gateway/observe/page/script.ts, checked by
 * its own tsconfig with lib dom): what is served as `live.js` is its compiled form, a
 * classic script; the build's file is preferred where it stands (dist/), the source is
 * compiled where it does not (src/ under tsx), and neither is a clear error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import {
  compileLiveScript,
  liveScript,
  loadLiveScript,
  type ScriptCompiler,
} from '../../src/gateway/observe/page.js';
import { isHijackError } from '../../src/errors.js';

const ts = createRequire(import.meta.url)('typescript') as ScriptCompiler;
const sourceUrl = new URL('../../src/gateway/observe/page/script.ts', import.meta.url);

test('live.js is the compiled page/script.ts: a classic script, no types, no import or export', () => {
  const js = liveScript();
  assert.equal(js, compileLiveScript(ts, readFileSync(sourceUrl, 'utf8')));
  new vm.Script(js, { filename: 'live.js' }); // parses as a classic script (no import/export)
  assert.match(js, /^'use strict';$/m);
  assert.doesNotMatch(js, /^\s*(import|export)\b/m);
  assert.doesNotMatch(js, /: Snapshot\b|as HTMLInputElement/, 'types are erased');
  assert.match(js, /new EventSource\('events' \+ suffix/);
});

test('the built file is served where it stands; else the source is compiled; neither: ERR_CONFIG', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hijack-live-script-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const at = pathToFileURL(dir + '/');
  assert.throws(
    () => loadLiveScript(at),
    (err: unknown) => isHijackError(err, 'ERR_CONFIG') && /npm run build/.test(err.message),
  );
  mkdirSync(join(dir, 'page'));
  writeFileSync(join(dir, 'page', 'script.ts'), 'const n: number = 1;\n');
  assert.match(loadLiveScript(at), /^const n = 1;$/m);
  writeFileSync(join(dir, 'page', 'live.js'), '/* built */\n');
  assert.equal(loadLiveScript(at), '/* built */\n');
});
