/**
 * Loads the native part once, on first use: build/Release/hijack_sockopt.node
 * (getsockopt/setsockopt only) here, and through {@link loadAddon} the relay
 * (hijack_relay.node, src/stream/splice-native.ts). When it cannot load, every caller gets the
 * same reason.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { HijackError } from '../errors.js';

/** The functions native/sockopt.c exports. Errors come back as negative errno values. */
export interface NativeSockopt {
  readonly platform: string;
  /** Bytes the kernel filled (>= 0), or -errno. */
  getsockopt(fd: number, level: number, name: number, buf: Uint8Array): number;
  /** 0, or -errno. */
  setsockopt(fd: number, level: number, name: number, buf: Uint8Array, length: number): number;
  /** The int value, or -errno - 2^32. */
  getsockoptInt(fd: number, level: number, name: number): number;
  /** 0, or -errno. */
  setsockoptInt(fd: number, level: number, name: number, value: number): number;
}

/** Whether the native part loaded, and from where or why not. */
export type NativeStatus = { available: true; path: string } | { available: false; reason: string };

/** The package root: the same two levels up from src/socket/ and from dist/socket/. */
const root = fileURLToPath(new URL('../../', import.meta.url));

let loaded: NativeSockopt | undefined;
let status: NativeStatus | undefined;

/**
 * Loads `build/Release/<name>.node` (or the path in `overrideEnv`) and checks it was
 * built for Linux; what went wrong otherwise, in words a user can act on.
 * @internal
 */
export function loadAddon<T extends { platform: string }>(
  name: string,
  overrideEnv: string,
): { status: NativeStatus; mod?: T } {
  if (process.platform !== 'linux') {
    return {
      status: {
        available: false,
        reason: `hijack's native part supports Linux only for now; this is ${process.platform}`,
      },
    };
  }
  const override = process.env[overrideEnv];
  const candidates = override
    ? [override]
    : [`${root}build/Release/${name}.node`, `${root}build/Debug/${name}.node`];
  const path = candidates.find((p) => existsSync(p));
  if (!path) {
    const failed = `${root}build/native-build-failed.txt`;
    const why = existsSync(failed)
      ? `the build failed at install (${readFileSync(failed, 'utf8').trim()})`
      : 'it was never built';
    return {
      status: {
        available: false,
        reason:
          `native part not found at ${candidates.join(' or ')}: ${why}. ` +
          'Install python3, make and a C compiler, then run `npm rebuild hijack`.',
      },
    };
  }
  try {
    const mod = createRequire(import.meta.url)(path) as T;
    if (mod.platform !== 'linux') {
      return {
        status: {
          available: false,
          reason: `native part at ${path} was built without Linux support`,
        },
      };
    }
    return { status: { available: true, path }, mod };
  } catch (err) {
    return {
      status: {
        available: false,
        reason: `native part at ${path} failed to load: ${(err as Error).message}. Run \`npm rebuild hijack\`.`,
      },
    };
  }
}

function load(): NativeStatus {
  const r = loadAddon<NativeSockopt>('hijack_sockopt', 'HIJACK_NATIVE_PATH');
  loaded = r.mod;
  return r.status;
}

/** Reports whether the socket calls (tcpInfo, peerCred, tuning) can work in this process. */
export function nativeSocketSupport(): NativeStatus {
  status ??= load();
  return status;
}

/** The loaded native part; throws ERR_NATIVE_UNAVAILABLE with the reason otherwise. */
export function native(): NativeSockopt {
  if (loaded) return loaded;
  const s = nativeSocketSupport();
  if (!s.available) throw new HijackError('ERR_NATIVE_UNAVAILABLE', s.reason);
  return loaded!;
}
