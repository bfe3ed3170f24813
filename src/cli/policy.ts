/**
 * `hijack policy check`: the effective policy of the gateway options given (the same flags,
 * environment and config file `hijack gateway` takes, resolved the same way), or, with
 * `--request FILE`, a dry run: would the gateway let that raw HTTP/1 request through, and
 * which rule decided. Exit codes: 0 printed / allowed, 1 refused, 2 usage or config error.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { HijackError } from '../errors.js';
import { dryRun, parseDryRunIdentity } from '../gateway/dry-run.js';
import { explainPolicy } from '../gateway/explain.js';
import { identityLabel, identityView } from '../gateway/observe/identity.js';
import { OWNER_LABEL } from '../gateway/policy/owner.js';
import {
  exitCodeFor,
  formatCliError,
  gatewayCommand,
  gatewayOptionsFromFlags,
  type GatewayFlags,
} from './gateway-args.js';
import { EXIT, type CliIO, type RegisterCommand } from './shared.js';

/** Flags of `hijack policy check`: the gateway's, plus the dry run's. */
export interface PolicyCheckFlags extends GatewayFlags {
  request?: string;
  identity?: string;
}

async function readRequest(path: string, io: CliIO): Promise<Buffer> {
  if (path !== '-') {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new HijackError(
        'ERR_USAGE',
        `--request: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
      );
    }
  }
  const chunks: Buffer[] = [];
  for await (const c of io.stdin) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

/** Runs `hijack policy check`; resolves to the exit code. */
export async function runPolicyCheck(flags: PolicyCheckFlags, io: CliIO): Promise<number> {
  try {
    const options = gatewayOptionsFromFlags(flags, io.env);
    if (flags.request === undefined) {
      if (flags.identity !== undefined) {
        throw new HijackError('ERR_USAGE', '--identity needs --request FILE');
      }
      io.stdout.write(explainPolicy(options));
      return EXIT.OK;
    }
    const who = parseDryRunIdentity(flags.identity, options);
    const raw = await readRequest(flags.request, io);
    const r = await dryRun(options, raw, who);
    const lines: string[] = [];
    if (r.allowed) {
      const body = r.bodyRules ? `; body rules from ${r.bodyRules} passed` : '';
      lines.push(`allowed (rule: ${r.rule}${body})`);
    } else lines.push(`refused: ${r.status} ${r.message}`);
    if (r.identity) lines.push(`identity: ${identityLabel(identityView(r.identity))}`);
    if (r.scope) {
      const label = r.scope.owner
        ? `; its objects are labelled ${OWNER_LABEL}=${r.scope.owner}`
        : '';
      lines.push(`scope: ${r.scope.scope} (from ${r.scope.source})${label}`);
    }
    for (const l of r.ownership ?? []) lines.push(`ownership: ${l}`);
    io.stdout.write(lines.join('\n') + '\n');
    return r.allowed ? EXIT.OK : EXIT.ERROR;
  } catch (err) {
    io.stderr.write(formatCliError(err).replace(/^hijack gateway:/, 'hijack policy check:') + '\n');
    return exitCodeFor(err);
  }
}

/** Registers `hijack policy check`. */
export const registerPolicy: RegisterCommand = (program, io, setExitCode) => {
  const check = new Command('check')
    .description(
      "Print the effective gateway policy per identity (rules, body rules, scope, each with its source), or (--request FILE) decide a raw HTTP/1 request as the gateway would: 'allowed' (exit 0) or 'refused: <status> <message>' (exit 1), then the identity, its scope and, under scope owner, what ownership does with the request.",
    )
    .option('--request <file>', "a raw HTTP/1 request, head and body ('-' for stdin)")
    .option(
      '--identity <who>',
      'the client of the dry run: a token name, uid:N[:GID], ip:ADDRESS or cn:SUBJECT (default: TCP from 127.0.0.1)',
    );
  for (const o of gatewayCommand().options) check.addOption(o);
  check.exitOverride().configureOutput({
    writeOut: (t) => io.stdout.write(t),
    writeErr: (t) => io.stderr.write(t),
  });
  check.action(async (flags: PolicyCheckFlags) => setExitCode(await runPolicyCheck(flags, io)));
  program.addCommand(
    new Command('policy')
      .description("Inspect a gateway's policy (the flags and config file of `hijack gateway`)")
      .addCommand(check),
  );
};
