// Builds dist/: `npm run build`, and `prepare` (so `npm pack`, `npm publish`, a git
// install and `npm install` in a clone all have the code).
//
//   dist/**/*.js, *.d.ts   the ESM build (tsconfig.build.json; @internal members stripped)
//   dist/cjs/**            the same modules as CommonJS, for require() on a Node that
//                          cannot require() ES modules (before 20.19 / 22.12)
//   dist/gateway/observe/page/live.js
//                          the live page's browser script, compiled from its TypeScript
//                          source (src/gateway/observe/page/script.ts, a classic script
//                          with its own tsconfig) by the gateway's own compileLiveScript
//   dist/require.cjs       what require('hijack') loads: the ESM build itself where Node
//                          can require() it (one copy of the package for import and
//                          require), else dist/cjs/index.js
//
// dist/cjs is made from the ESM output by the TypeScript compiler's own transpiler, so it
// is the same code module by module. `import.meta.url` in a CommonJS module becomes the URL
// of the ESM file it was made from, so paths resolved from it (build/Release/*.node) are the
// same in both builds.
import {
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');
const cjs = join(dist, 'cjs');
const require = createRequire(import.meta.url);

rmSync(dist, { recursive: true, force: true });
const ts = require('typescript');

/** True when the source node behind a declaration node has an `@internal` tag. */
function isInternal(node) {
  return ts.getJSDocTags(ts.getOriginalNode(node)).some((t) => t.tagName.text === 'internal');
}

/**
 * tsc's stripInternal, limited to what it should strip here: class and interface members,
 * and exported declarations, marked `@internal`. (tsc's own also strips an import whose
 * comment is a file's `@internal` module header, which leaves that file's .d.ts broken.) An
 * internal constructor becomes `private constructor()`: the class is not for `new`.
 */
function stripInternal(context) {
  const f = context.factory;
  const visit = (node) => {
    if ((ts.isClassElement(node) || ts.isTypeElement(node)) && isInternal(node)) {
      if (ts.isConstructorDeclaration(node)) {
        return f.createConstructorDeclaration(
          [f.createModifier(ts.SyntaxKind.PrivateKeyword)],
          [],
          undefined,
        );
      }
      return undefined;
    }
    if (ts.isClassDeclaration(node) || ts.isInterfaceDeclaration(node)) {
      return ts.visitEachChild(node, visit, context);
    }
    return node;
  };
  return (file) => {
    if (!ts.isSourceFile(file)) return file;
    const statements = [];
    for (const s of file.statements) {
      if (ts.isImportDeclaration(s) || ts.isExportDeclaration(s)) statements.push(s);
      else if (!isInternal(s)) statements.push(visit(s));
    }
    return f.updateSourceFile(file, statements);
  };
}

const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.build.json'), undefined, {
  ...ts.sys,
  onUnRecoverableConfigFileDiagnostic: (d) => {
    throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  },
});
const program = ts.createProgram({ rootNames: config.fileNames, options: config.options });
const emitted = program.emit(undefined, undefined, undefined, false, {
  afterDeclarations: [stripInternal],
});
const diagnostics = [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics];
if (diagnostics.length) {
  const host = {
    getCanonicalFileName: (p) => p,
    getCurrentDirectory: () => root,
    getNewLine: () => '\n',
  };
  console.error(ts.formatDiagnosticsWithColorAndContext(diagnostics, host));
  console.error(`build: ${diagnostics.length} TypeScript error(s)`);
  process.exit(1);
}

// The live page's script: not part of the Node program (it is checked with lib dom by its
// own tsconfig); compiled by the function the server uses when it runs from source.
const pageDir = join(dist, 'gateway', 'observe', 'page');
const { compileLiveScript } = await import(
  pathToFileURL(join(dist, 'gateway', 'observe', 'page.js')).href
);
mkdirSync(pageDir, { recursive: true });
writeFileSync(
  join(pageDir, 'live.js'),
  compileLiveScript(
    ts,
    readFileSync(join(root, 'src', 'gateway', 'observe', 'page', 'script.ts'), 'utf8'),
  ),
);

/** Every file under dir (relative paths), skipping dist/cjs itself and the browser script. */
function walk(dir, out = []) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (path === cjs || path === pageDir) continue;
    if (statSync(path).isDirectory()) walk(path, out);
    else out.push(relative(dist, path));
  }
  return out;
}

/**
 * An ES module may name a binding `require` (`const require = createRequire(…)`); in a
 * CommonJS module that name is the module's own require. Rename every such identifier.
 */
function renameRequire(rel, text) {
  const file = ts.createSourceFile(rel, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const at = [];
  const visit = (node) => {
    if (ts.isIdentifier(node) && node.text === 'require') at.push(node.getStart(file));
    ts.forEachChild(node, visit);
  };
  visit(file);
  for (const pos of at.reverse()) {
    text = text.slice(0, pos) + '__hijackEsmRequire' + text.slice(pos + 'require'.length);
  }
  return text;
}

const META_URL = '__hijackImportMetaUrl';
let modules = 0;
for (const rel of walk(dist)) {
  const from = join(dist, rel);
  const to = join(cjs, rel);
  if (rel.endsWith('.d.ts')) {
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
    continue;
  }
  if (!rel.endsWith('.js')) continue;
  let text = renameRequire(
    rel,
    readFileSync(from, 'utf8').replace(/^\/\/# sourceMappingURL=.*$/m, ''),
  );
  if (text.includes('import.meta')) {
    const esm = relative(dirname(to), from);
    text =
      `const ${META_URL} = require('node:url').pathToFileURL(require('node:path').join(__dirname, ${JSON.stringify(esm)})).href;\n` +
      text.replaceAll('import.meta.url', META_URL);
    if (text.includes('import.meta')) {
      console.error(`build: ${rel} uses import.meta beyond import.meta.url`);
      process.exit(1);
    }
  }
  const out = ts.transpileModule(text, {
    fileName: rel,
    reportDiagnostics: true,
    compilerOptions: {
      module: ts.ModuleKind.CommonJS,
      target: ts.ScriptTarget.ES2022,
      esModuleInterop: true,
      allowJs: true,
      sourceMap: false,
    },
  });
  if (out.diagnostics?.length) {
    console.error(ts.formatDiagnostics(out.diagnostics, ts.createCompilerHost({})));
    process.exit(1);
  }
  mkdirSync(dirname(to), { recursive: true });
  writeFileSync(to, out.outputText);
  modules++;
}
writeFileSync(join(cjs, 'package.json'), JSON.stringify({ type: 'commonjs' }, null, 2) + '\n');
writeFileSync(
  join(dist, 'require.cjs'),
  `'use strict';
// require('hijack'). Where this Node can require() ES modules, the ESM build itself, so
// import and require share one copy of the package (one set of connection marks, one
// HijackError). Elsewhere (Node before 20.19 / 22.12, or --no-experimental-require-module)
// the CommonJS build of the same modules.
module.exports = process.features.require_module ? require('./index.js') : require('./cjs/index.js');
`,
);
console.log(`build: dist/ (ESM) and dist/cjs/ (${modules} CommonJS modules)`);
