export { buildApp, type BuiltApp, type BuildOptions } from './app.js';
export { startServer } from './server.js';
export { configFromEnv, type ServerConfig, type Services } from './services.js';
export { openStorage, isPostgresUrl, type Storage, type StorageOptions } from './storage/database.js';
