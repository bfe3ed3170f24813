#!/usr/bin/env node
// The `hijack` command. The code is in dist/, which `npm run build` makes (npm does it
// through `prepare` on install from a clone or git, and before pack and publish).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/cli/main.js', import.meta.url);
const root = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
let main;
try {
  ({ main } = await import(entry.href));
} catch (err) {
  if (!existsSync(entry)) {
    console.error(
      `hijack: ${fileURLToPath(entry)} is missing: this copy of hijack has not been built.\n` +
        `Run \`npm install && npm run build\` in ${root} (a published package has dist/ already).`,
    );
    process.exit(1);
  }
  if (err?.code === 'ERR_MODULE_NOT_FOUND') {
    console.error(
      `hijack: cannot load the command: ${err.message}\nRun \`npm install\` in ${root}.`,
    );
    process.exit(1);
  }
  throw err;
}
process.exitCode = await main(process.argv.slice(2));
