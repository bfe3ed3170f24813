/**
 * The line `hijack gateway` and `hijack demo` print on SIGINT/SIGTERM: what the open
 * streams (docker exec/attach) are about to experience.
 *
 * @module
 */

/** What `open` taken-over streams see when the gateway shuts down with `grace` ms for them. */
export function streamsNotice(open: number, grace: number): string {
  if (open === 0) return 'no stream is open';
  return (
    `${open} open stream${open === 1 ? ' is' : 's are'} half-closed now and cut after ` +
    `${grace / 1000} s: the client sees its output end; docker exec then exits 255 without ` +
    `a message (it cannot read the exit code once the daemon is gone), docker attach ` +
    `exits 0, hijack attach prints "the server ended the stream"`
  );
}
