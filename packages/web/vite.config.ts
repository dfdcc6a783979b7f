import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

/** `npm run dev -w @switchyard/web` proxies the API to a server on :4242 (`npm start`). */
const api = process.env.SWITCHYARD_URL ?? 'http://127.0.0.1:4242';

export default defineConfig({
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: Object.fromEntries(['/api', '/health', '/ready', '/docs'].map((p) => [p, { target: api, changeOrigin: false }])),
  },
});
