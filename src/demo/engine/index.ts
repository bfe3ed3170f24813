/**
 * The demo engine: a Docker-engine-compatible fixture whose containers are records and
 * whose processes are built-in commands (no child processes; a small built-in shell). The
 * real `docker` CLI can `ps`, `inspect`, `exec`, `attach`, `logs`, `events`, `run --rm`
 * against it. See docs/engine.md.
 *
 * @module
 */
export { createEngine, ENGINE_STOPPING, type Engine, type EngineOptions } from './engine.js';
export { Container, containerIdFor, defaultContainers, type ContainerSpec } from './containers.js';
export {
  builtinCommands,
  formatDate,
  writeOut,
  type Command,
  type CommandContext,
} from './commands.js';
