/**
 * `hijack gateway`: parses flags, environment and config file (gateway-args.ts's
 * {@link gatewayOptionsFromFlags}) into options, runs {@link createGateway}, and shuts it
 * down gracefully on SIGTERM / SIGINT (a second signal cuts everything at once).
 *
 * @module
 */
import type { Command } from 'commander';
import { observeGateway, type Observer } from '../gateway/observe/index.js';
import { createGateway } from '../gateway/server.js';
import { explainPolicy } from '../gateway/explain.js';
import type { Gateway } from '../gateway/server.js';
import { dialUpstream, parseUpstream } from '../gateway/forward/upstream.js';
import { formatEndpoint } from '../endpoint/endpoint.js';
import {
  exitCodeFor,
  formatCliError,
  gatewayCommand,
  gatewayOptionsFromFlags,
} from './gateway-args.js';
import type { GatewayFlags } from './gateway-args.js';
import type { CliIO, RegisterCommand } from './shared.js';
import { streamsNotice } from './shutdown-notice.js';

/** Milliseconds taken-over streams get after the half-close (createGateway's default shutdownGrace). */
const STREAM_GRACE = 5000;

/** Milliseconds in-flight requests get after SIGTERM before they are cut. */
const SHUTDOWN_TIMEOUT = 10_000;

/**
 * Runs the gateway until SIGTERM/SIGINT (or `signal`); resolves with the exit code:
 * 0 after a clean shutdown, 1 on a runtime failure, 2 on a usage or config error.
 */
export async function runGateway(
  flags: GatewayFlags,
  io: CliIO,
  signal?: AbortSignal,
): Promise<number> {
  let gw: Gateway;
  let obs: Observer;
  try {
    const options = gatewayOptionsFromFlags(flags, io.env);
    if (flags.explain) {
      io.stdout.write(explainPolicy(options));
      return 0;
    }
    gw = createGateway(options);
    // Access log, metrics (--metrics-listen, or /metrics on the live listener), live page (--live-listen).
    obs = observeGateway(gw, {
      log: {
        level: options.logLevel,
        destination: options.logDestination ?? 'stdout',
        ...(options.logStreamInterval ? { streamInterval: options.logStreamInterval } : {}),
      },
      metrics: {
        processMetrics: true,
        ...(options.metricsListen ? { listen: options.metricsListen } : {}),
      },
      live: options.liveListen ? { listen: options.liveListen } : false,
    });
    // Once the gateway closed (its last takeover lines written), flush the log, close the listeners.
    gw.once('close', () => void obs.close());
  } catch (err) {
    io.stderr.write(formatCliError(err) + '\n');
    return exitCodeFor(err);
  }
  const log = (msg: string) => io.stderr.write(`hijack gateway: ${msg}\n`);
  gw.on('request', (e) => {
    if (e.error && e.status >= 500) log(`${e.method} ${e.url} → ${e.status}: ${e.error.message}`);
  });
  try {
    const addrs = await gw.listen();
    const up = formatEndpoint(gw.options.upstream);
    log(`listening on ${addrs.map((a) => a.url).join(', ')}; upstream ${up}`);
    const urls = await obs.listen();
    if (urls.live) log(`live connections page on ${urls.live}`);
    if (urls.metrics) log(`metrics on ${urls.metrics}`);
    // Tell early when the upstream is not there; the gateway serves anyway (502 until it is).
    dialUpstream(parseUpstream(up), { timeout: 2000 }).then(
      (s) => s.destroy(),
      (err: Error) => log(`warning: ${err.message.replace(/^hijack gateway: /, '')}`),
    );
  } catch (err) {
    io.stderr.write(formatCliError(err) + '\n');
    await gw.close({ timeout: 0, grace: 0 });
    await obs.close();
    return exitCodeFor(err);
  }
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (why: string) => {
      if (stopping) {
        log(`${why} again: cutting every connection`);
        for (const t of gw.trackers) for (const c of t) c.socket.destroy();
        resolve(1);
        return;
      }
      stopping = true;
      log(
        `${why}: shutting down (finishing in-flight requests); ` +
          streamsNotice(gw.takeovers, STREAM_GRACE),
      );
      gw.close({ timeout: SHUTDOWN_TIMEOUT }).then(
        () => {
          cleanup();
          log('stopped');
          resolve(0);
        },
        (err: Error) => {
          cleanup();
          log(`shutdown failed: ${err.message}`);
          resolve(1);
        },
      );
    };
    const onHup = () => obs.log?.reopen();
    const onTerm = () => stop('SIGTERM');
    const onInt = () => stop('SIGINT');
    const onAbort = () => stop('abort');
    const cleanup = () => {
      process.removeListener('SIGTERM', onTerm);
      process.removeListener('SIGINT', onInt);
      process.removeListener('SIGHUP', onHup);
      signal?.removeEventListener('abort', onAbort);
    };
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    process.on('SIGHUP', onHup);
    signal?.addEventListener('abort', onAbort);
  });
}

/** Registers `hijack gateway`. */
export const registerGateway: RegisterCommand = (program: Command, io: CliIO, setExitCode) => {
  program.addCommand(
    gatewayCommand().action(async (flags: GatewayFlags) => {
      setExitCode(await runGateway(flags, io));
    }),
  );
};
