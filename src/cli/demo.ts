/**
 * `hijack demo` (`npm start`): the demo engine behind the gateway with the live page on;
 * prints what to run next and stops gracefully on Ctrl-C (SIGINT) or SIGTERM.
 *
 * @module
 */
import { Option, type Command } from 'commander';
import { demoStreamsNotice, startDemo } from '../demo/demo.js';
import { HijackError, isHijackError } from '../errors.js';
import { LOG_LEVELS } from '../gateway/config/values.js';
import type { LogLevel } from '../gateway/types.js';
import { EXIT, type RegisterCommand } from './shared.js';

/** Options of `hijack demo` as commander hands them over. */
interface DemoFlags {
  port?: string;
  livePort?: string;
  host?: string;
  logLevel?: LogLevel;
}

function port(v: string | undefined, name: string): number {
  if (v === undefined) return 0;
  if (!/^\d{1,5}$/.test(v) || Number(v) > 65535)
    throw new HijackError('ERR_USAGE', `${name} must be a port number 0-65535, got '${v}'`);
  return Number(v);
}

/** Registers `hijack demo`. */
export const registerDemo: RegisterCommand = (program: Command, io, setExitCode) => {
  program
    .command('demo')
    .description(
      'Run a Docker-compatible demo engine behind the gateway, with the live connections page; prints the docker commands to try.',
    )
    .option('--port <port>', 'gateway port on loopback (default 0: any free port)')
    .option('--live-port <port>', 'live page port on loopback (default 0: any free port)')
    .option('--host <addr>', 'loopback address: 127.0.0.1 (default), ::1 or localhost')
    .addOption(
      new Option(
        '--log-level <level>',
        'access log level, JSON lines on stderr (default info)',
      ).choices([...LOG_LEVELS]),
    )
    .action(async (flags: DemoFlags) => {
      let demo;
      try {
        demo = await startDemo({
          port: port(flags.port, '--port'),
          livePort: port(flags.livePort, '--live-port'),
          ...(flags.host !== undefined ? { host: flags.host } : {}),
          logLevel: flags.logLevel ?? 'info',
          logDestination: io.stderr,
        });
      } catch (err) {
        io.stderr.write(`hijack demo: ${(err as Error).message}\n`);
        setExitCode(isHijackError(err, 'ERR_USAGE') ? EXIT.USAGE : EXIT.ERROR);
        return;
      }
      io.stdout.write(demo.instructions());
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        const on = (s: NodeJS.Signals) => {
          process.off('SIGINT', on);
          process.off('SIGTERM', on);
          resolve(s);
        };
        process.on('SIGINT', on);
        process.on('SIGTERM', on);
      });
      io.stderr.write(
        `hijack demo: ${signal}, shutting down: ${demoStreamsNotice(demo.gateway.takeovers)}\n`,
      );
      await demo.close();
      io.stdout.write('hijack demo: stopped\n');
      setExitCode(EXIT.OK);
    });
};
