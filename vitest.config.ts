import { defineConfig } from 'vitest/config';
import { fileURLToPath } from 'node:url';

const src = (pkg: string) => fileURLToPath(new URL(`./packages/${pkg}/src/index.ts`, import.meta.url));

export default defineConfig({
  resolve: {
    alias: {
      '@switchyard/engine': src('engine'),
      // SDK subpaths first: an alias also matches `@switchyard/sdk/…`.
      '@switchyard/sdk/node': fileURLToPath(new URL('./packages/sdk/src/node.ts', import.meta.url)),
      '@switchyard/sdk/middleware': fileURLToPath(new URL('./packages/sdk/src/middleware.ts', import.meta.url)),
      '@switchyard/sdk/openfeature-server': fileURLToPath(new URL('./packages/sdk/src/openfeature-server.ts', import.meta.url)),
      '@switchyard/sdk/openfeature-web': fileURLToPath(new URL('./packages/sdk/src/openfeature-web.ts', import.meta.url)),
      '@switchyard/sdk': src('sdk'),
      '@switchyard/server': src('server'),
    },
  },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
