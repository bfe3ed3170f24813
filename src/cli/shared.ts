/**
 * What every `hijack` subcommand shares: the process streams it runs with ({@link CliIO}),
 * the exit codes ({@link EXIT}) and the shape of a subcommand's registration
 * ({@link RegisterCommand}). Imports run one way: main.ts → subcommands → this module.
 *
 * @module
 */
import type { Command } from 'commander';
import type { Readable, Writable } from 'node:stream';

/** Process streams and environment a command runs with (tests pass their own). */
export interface CliIO {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

/** Exit codes shared by every subcommand. */
export const EXIT = {
  /** Clean end. */
  OK: 0,
  /** Failure after start (a stream error, a server-side error). */
  ERROR: 1,
  /** Bad flags or arguments. */
  USAGE: 2,
} as const;

/**
 * Registers one subcommand. Its action returns (or resolves to) the exit code; it must not
 * call process.exit.
 */
export type RegisterCommand = (
  program: Command,
  io: CliIO,
  setExitCode: (code: number) => void,
) => void;
