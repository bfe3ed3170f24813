/**
 * The `hijack` command line: one commander program, one module per subcommand.
 *
 * To add a subcommand, write `src/cli/NAME.ts` exporting a {@link RegisterCommand} (from
 * `shared.ts`, which subcommands import instead of this module) and add
 * one line to {@link commands} below.
 *
 * @module
 */
import { Command, CommanderError } from 'commander';
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { isHijackError } from '../errors.js';
import { registerAttach } from './attach.js';
import { registerDemo } from './demo.js';
import { registerGateway } from './gateway.js';
import { registerPolicy } from './policy.js';
import { EXIT, type CliIO, type RegisterCommand } from './shared.js';

export { EXIT, type CliIO, type RegisterCommand } from './shared.js';

/** Every subcommand, one line each. */
const commands: RegisterCommand[] = [
  registerAttach,
  registerDemo,
  registerGateway,
  registerPolicy,
  // (other subcommands register here)
];

/** Builds the program; exposed for tests and for help text generation. */
export function buildProgram(io: CliIO, setExitCode: (code: number) => void): Command {
  const program = new Command('hijack')
    .description(
      "Go net/http's connection control for Node.js: hijacked streams, gateway, socket facts.",
    )
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
  for (const register of commands) register(program, io, setExitCode);
  for (const c of program.commands) {
    c.exitOverride().configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
    });
  }
  return program;
}

/**
 * Runs the CLI with `argv` (the arguments after the program name); resolves to the exit
 * code. Never calls process.exit.
 */
export async function main(argv: string[], io?: Partial<CliIO>): Promise<number> {
  const full: CliIO = {
    stdin: io?.stdin ?? process.stdin,
    stdout: io?.stdout ?? process.stdout,
    stderr: io?.stderr ?? process.stderr,
    env: io?.env ?? process.env,
  };
  let code: number = EXIT.OK;
  const program = buildProgram(full, (c) => (code = c));
  if (argv.length === 0) {
    full.stdout.write(program.helpInformation());
    return EXIT.USAGE;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      ) {
        return EXIT.OK;
      }
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    if (isHijackError(err, 'ERR_USAGE')) {
      full.stderr.write(`hijack: ${err.message}\n`);
      return EXIT.USAGE;
    }
    full.stderr.write(`hijack: ${(err as Error).message ?? String(err)}\n`);
    return EXIT.ERROR;
  }
}

/** True when this module is the program itself (`node --import tsx src/cli/main.ts …`, as `npm start` runs it). */
function isEntryPoint(): boolean {
  try {
    return (
      !!process.argv[1] && pathToFileURL(realpathSync(process.argv[1])).href === import.meta.url
    );
  } catch {
    return false;
  }
}

if (isEntryPoint()) process.exitCode = await main(process.argv.slice(2));
