/**
 * The demo engine's route table: every endpoint it implements, by resource. Anything else
 * answers 501 with a message naming the demo (see notImplementedMessage). The demo's
 * gateway policy is derived from this table, and docs/demo.md is checked against it.
 *
 * @module
 */
import * as absent from './absent.js';
import { attach } from './attach.js';
import * as containers from './container-api.js';
import * as creation from './container-create.js';
import * as execs from './execs.js';
import * as images from './images.js';
import * as networks from './network-api.js';
import { events, logs } from './logs-events.js';
import type { Handler, Route } from './route-table.js';
import * as system from './system.js';

function r(spec: string, summary: string, handler: Handler): Route {
  const [method, path] = spec.split(' ') as [string, string];
  return { method, path, summary, handler };
}

/** The endpoints the demo engine implements, in matching order. */
export const routes: readonly Route[] = [
  r('GET /_ping', 'OK, with Api-Version', system.ping),
  r('HEAD /_ping', 'as GET, no body', system.ping),
  r('GET /version', '`docker version`', system.version),
  r('GET /info', '`docker info`', system.info),
  r('GET /events', '`docker events` (since, until, filters; live)', events),
  r('GET /containers/json', '`docker ps` (all, limit, filters)', containers.list),
  r(
    'POST /containers/create',
    '`docker create` (built-in commands of the demo images)',
    creation.create,
  ),
  r('DELETE /containers/{id*}', '`docker rm` (force)', creation.remove),
  r('GET /containers/{id*}/json', '`docker inspect`', containers.inspect),
  r('GET /containers/{id*}/logs', '`docker logs` (follow, since, until, tail, timestamps)', logs),
  r('POST /containers/{id*}/start', 'start (204, 304 when running)', containers.start),
  r('POST /containers/{id*}/kill', 'kill (409 when not running)', containers.kill),
  r('POST /containers/{id*}/stop', 'stop', containers.stop),
  r('POST /containers/{id*}/restart', 'restart (stop, then start)', containers.restart),
  r('POST /containers/{id*}/wait', 'wait for the exit status', containers.wait),
  r('POST /containers/{id*}/resize', 'TTY size', containers.resize),
  r('POST /containers/{id*}/attach', '`docker attach` (hijacked)', attach),
  r('POST /containers/{id*}/exec', 'exec create', execs.create),
  r('POST /exec/{id}/start', 'exec start (hijacked)', execs.start),
  r('GET /exec/{id}/json', 'exec inspect', execs.inspect),
  r('POST /exec/{id}/resize', 'exec TTY size', execs.resize),
  r('GET /images/json', '`docker images`', images.list),
  r('GET /images/{name*}/json', '`docker image inspect`', images.inspect),
  r('GET /networks', '`docker network ls` (records only: there is no network)', networks.list),
  r('GET /networks/{id}', '`docker network inspect`', networks.inspect),
  r('POST /networks/create', '`docker network create` (compose default network)', networks.create),
  r('DELETE /networks/{id}', '`docker network rm`', networks.remove),
  r('POST /networks/{id}/connect', 'accepted, nothing to connect', networks.connect),
  r('POST /networks/{id}/disconnect', 'accepted, nothing to disconnect', networks.connect),
  r('GET /volumes', '`docker volume ls` (there are no volumes)', absent.volumes),
  r('GET /volumes/{name*}', '404 `no such volume` (for `docker inspect NAME`)', absent.volume),
  r('GET /plugins', '`docker plugin ls` (there are no plugins)', absent.plugins),
  r('GET /plugins/{name*}/json', '404 `not found` (for `docker inspect NAME`)', absent.plugin),
];
