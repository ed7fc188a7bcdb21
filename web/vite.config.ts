import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// The admin UI. Root is web/; `npm run build` writes web/dist, which the gateway serves at `/`.
// Dev: `npx vite --config web/vite.config.ts` proxies the API to a running gateway
// (APG_URL, default http://127.0.0.1:8899).
const root = fileURLToPath(new URL('.', import.meta.url));
const target = process.env.APG_URL ?? 'http://127.0.0.1:8899';

export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 600,
  },
  server: {
    port: 5173,
    proxy: {
      '/admin': target,
      '/v1': target,
      '/health': target,
    },
  },
});
