/**
 * `sh`: a small built-in shell for the demo engine. `sh -c 'CMD; CMD && CMD || CMD'` and
 * an interactive prompt (`# `) on a TTY, running the engine's built-in commands. Words are
 * split on blanks with '…' and "…" quoting and backslash escapes; `$?` is the last status.
 * Built into the shell: `exit [N]`, `cd` (a no-op: there is no file system), `help`.
 * No pipes, redirections, variables or globbing: it runs the demo's commands, nothing more.
 *
 * @module
 */
import { PassThrough } from 'node:stream';
import { writeOut, type Command, type CommandContext } from './commands.js';
import { endedInput, runCommand } from './process.js';
import { INTERRUPTED } from './tty.js';

/** Commands that read the terminal themselves (the shell's prompt), not a job's stdin. */
export const readsTerminal = new WeakSet<Command>();

/** The prompt, as busybox sh shows it for root in `/`. */
export const PROMPT = '/ # ';

/** One command of a list and how it is joined to the previous one. */
interface Step {
  op: ';' | '&&' | '||';
  argv: string[];
}

/** Stands for `$?` in parsed words until the step runs (the status of the step before). */
export const STATUS_MARK = '\u0000?\u0000';

/** Replaces `$?` marks in `argv` with `status`. */
export function expandStatus(argv: string[], status: number): string[] {
  return argv.map((w) => w.split(STATUS_MARK).join(String(status)));
}

/** Splits a command line into steps (`$?` left as STATUS_MARK); throws Error for bad syntax. */
export function parseLine(line: string): Step[] {
  const steps: Step[] = [];
  let argv: string[] = [];
  let word = '';
  let inWord = false;
  let op: Step['op'] = ';';
  const endWord = () => {
    if (inWord) argv.push(word);
    word = '';
    inWord = false;
  };
  const endStep = (next: Step['op']) => {
    endWord();
    if (argv.length) steps.push({ op, argv });
    argv = [];
    op = next;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'" || c === '"') {
      const close = line.indexOf(c, i + 1);
      if (close < 0) throw new Error(`syntax error: unterminated quoted string`);
      let text = line.slice(i + 1, close);
      if (c === '"') text = text.replace(/\$\?/g, STATUS_MARK).replace(/\\(["\\$])/g, '$1');
      word += text;
      inWord = true;
      i = close;
    } else if (c === '\\' && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (c === ' ' || c === '\t') {
      endWord();
    } else if (c === ';' || c === '\n') {
      endStep(';');
    } else if ((c === '&' || c === '|') && line[i + 1] === c) {
      endStep(c === '&' ? '&&' : '||');
      i++;
    } else if (c === '|' || c === '<' || c === '>' || c === '&') {
      throw new Error(`'${c}' is not supported by the demo's shell (no pipes or redirections)`);
    } else if (c === '$' && line[i + 1] === '?') {
      word += STATUS_MARK;
      inWord = true;
      i++;
    } else if (c === '#' && !inWord) {
      break;
    } else {
      word += c;
      inWord = true;
    }
  }
  endStep(';');
  return steps;
}

/** What running a line gave: its status, and whether `exit` was called. */
interface LineResult {
  status: number;
  exit: boolean;
}

/**
 * Creates `sh` over `commands` (looked up when each command runs, so later additions count).
 */
export function createShell(commands: ReadonlyMap<string, Command>): Command {
  async function runLine(
    ctx: CommandContext,
    line: string,
    last: number,
    stdinFor: () => PassThrough | CommandContext['stdin'],
  ): Promise<LineResult> {
    let steps: Step[];
    try {
      steps = parseLine(line);
    } catch (err) {
      await writeOut(ctx.stderr, `sh: ${(err as Error).message}\n`);
      return { status: 2, exit: false };
    }
    let status = last;
    let first = true;
    for (const step of steps) {
      const { op } = step;
      const argv = expandStatus(step.argv, status);
      if (!first && ((op === '&&' && status !== 0) || (op === '||' && status === 0))) continue;
      first = false;
      const name = argv[0]!;
      if (name === 'exit') {
        const n = argv[1] === undefined ? status : Number(argv[1]);
        return { status: Number.isInteger(n) ? n & 0xff : 2, exit: true };
      }
      if (name === 'cd') {
        status = 0;
        continue;
      }
      if (name === 'help') {
        const list = [...commands.keys(), 'cd', 'exit', 'help'].sort().join(' ');
        await writeOut(ctx.stdout, `built-in commands: ${list}\n`);
        status = 0;
        continue;
      }
      if (!commands.has(name) && !commands.has(name.replace(/^.*\//, ''))) {
        await writeOut(ctx.stderr, `sh: ${name}: not found\n`);
        status = 127;
        continue;
      }
      // A job: its own abort (^C), its own stdin on a TTY.
      const job = new AbortController();
      const onParent = () => job.abort();
      ctx.signal.addEventListener('abort', onParent, { once: true });
      let interrupted = false;
      const release = ctx.tty?.onInterrupt(() => {
        interrupted = true;
        job.abort();
      });
      status = await runCommand(commands, argv, {
        stdin: stdinFor(),
        stdout: ctx.stdout,
        stderr: ctx.stderr,
        env: Object.entries(ctx.env).map(([k, v]) => `${k}=${v}`),
        signal: job.signal,
        ...(ctx.tty ? { tty: ctx.tty } : {}),
      });
      release?.();
      ctx.tty?.closeJob();
      ctx.signal.removeEventListener('abort', onParent);
      if (ctx.signal.aborted) return { status: 137, exit: true };
      if (interrupted) status = 130;
    }
    return { status, exit: false };
  }

  const sh: Command = async (ctx) => {
    const { args, tty } = ctx;
    if (args[0] === '-c') {
      if (args[1] === undefined) {
        await writeOut(ctx.stderr, 'sh: -c requires an argument\n');
        return 2;
      }
      // The whole list shares the shell's stdin, as in a real shell.
      const r = await runLine(ctx, args[1], 0, () => (tty ? tty.openJob() : ctx.stdin));
      return r.status;
    }
    if (args.length > 0) {
      await writeOut(ctx.stderr, `sh: ${args[0]}: the demo's shell has no files to run\n`);
      return 127;
    }
    let last = 0;
    if (tty) {
      // The prompt ignores ^C (the terminal's line is discarded, a new prompt follows).
      const release = tty.onInterrupt(() => {});
      try {
        for (;;) {
          await writeOut(ctx.stdout, PROMPT);
          const line = await tty.readLine();
          if (ctx.signal.aborted) return 137;
          if (line === INTERRUPTED) continue;
          if (line === null) {
            await writeOut(ctx.stdout, '\n');
            return last;
          }
          const r = await runLine(ctx, line, last, () => tty.openJob());
          last = r.status;
          if (r.exit) return last;
        }
      } finally {
        release();
      }
    }
    // No TTY: read commands from stdin, one per line, no prompt; commands get no stdin.
    let pending = '';
    for await (const chunk of ctx.stdin) {
      pending += String(chunk);
      let i;
      while ((i = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, i);
        pending = pending.slice(i + 1);
        const r = await runLine(ctx, line, last, endedInput);
        last = r.status;
        if (r.exit) return last;
      }
    }
    if (pending.trim()) last = (await runLine(ctx, pending, last, endedInput)).status;
    return last;
  };
  readsTerminal.add(sh);
  return sh;
}
