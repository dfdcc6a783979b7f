export { buildProgram, main, VERSION } from './program.js';
export { ApiClient, CliError, resolveToken, resolveUrl, DEFAULT_URL, type ClientOptions } from './http.js';
export { formatTable } from './output.js';
