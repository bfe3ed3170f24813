// Runs the test suite with node's built-in runner (TypeScript through tsx).
//   npm test                      every test/**/*.test.ts
//   npm test -- test/socket       only the files under the given paths
// NODE_BIN picks another node binary (the CI runs 20, 22 and 24).
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
function collect(path, out) {
  const st = statSync(path);
  if (st.isDirectory()) {
    for (const name of readdirSync(path).sort()) {
      if (name === 'node_modules' || name === 'fixtures') continue;
      collect(join(path, name), out);
    }
  } else if (/\.test\.ts$/.test(path)) out.push(relative(root, path));
  return out;
}
const roots = process.argv.slice(2).length ? process.argv.slice(2) : ['test'];
const files = roots.flatMap((p) => collect(join(root, p), []));
if (files.length === 0) {
  console.error('no test files under', roots.join(' '));
  process.exit(1);
}
const node = process.env.NODE_BIN || process.execPath;
const args = ['--import', 'tsx', '--test', '--test-reporter=spec'];
if (process.env.TEST_CONCURRENCY) args.push(`--test-concurrency=${process.env.TEST_CONCURRENCY}`);
// A test process that never exits (a leaked handle) fails the run instead of hanging it.
const limitMin = Number(process.env.TEST_TIMEOUT_MINUTES || 15);
const child = spawn(node, [...args, ...files], { cwd: root, stdio: 'inherit' });
const watchdog = setTimeout(() => {
  console.error(
    `test run still going after ${limitMin} min: a test process did not exit; killing it`,
  );
  child.kill('SIGKILL');
}, limitMin * 60_000);
child.on('exit', (code, signal) => {
  clearTimeout(watchdog);
  process.exit(code ?? (signal ? 1 : 0));
});
