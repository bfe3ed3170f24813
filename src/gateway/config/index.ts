/**
 * Gateway configuration: config files, the environment, presets, value parsing, merging and resolution.
 *
 * @module
 */
export { loadConfigFile, parseConfigText } from './file.js';
export { settingsFromEnv, GATEWAY_ENV } from './env.js';
export {
  presetRules,
  tecnativaRules,
  tecnativaFlag,
  PRESET_NAMES,
  READONLY_RULES,
  EXEC_RULES,
  TECNATIVA_SECTIONS,
  TECNATIVA_ACTIONS,
  type PresetName,
} from './presets.js';
export {
  mergeSettings,
  resolveSettings,
  DEFAULT_TIMEOUTS,
  DEFAULT_LISTEN,
  DEFAULT_UPSTREAM,
  type GatewaySettings,
  type TlsFiles,
} from './settings.js';
export {
  parseDuration,
  parseEndpoint,
  parseLogLevel,
  parseId,
  parseBool,
  LOG_LEVELS,
  type EndpointRole,
} from './values.js';
