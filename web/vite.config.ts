import { defineConfig } from 'vitest/config'
import vue from '@vitejs/plugin-vue'
import AutoImport from 'unplugin-auto-import/vite'
import Components from 'unplugin-vue-components/vite'
import { ElementPlusResolver } from 'unplugin-vue-components/resolvers'

// Element Plus components and their styles are imported where a template uses them, so the
// first page carries only what the login page and the layout need.
export default defineConfig({
  plugins: [
    vue(),
    AutoImport({ resolvers: [ElementPlusResolver()], dts: 'src/auto-imports.d.ts' }),
    Components({ resolvers: [ElementPlusResolver()], dts: 'src/components.d.ts' }),
  ],
  server: {
    // `npm run dev`: the API of a stack started with `make run` (GATEWAY_ADDRESS)
    proxy: { '/api': process.env.CRM_API_ORIGIN ?? 'http://127.0.0.1:8000' },
  },
  build: { outDir: 'dist', assetsDir: 'assets', chunkSizeWarningLimit: 1200 },
  test: { environment: 'node', include: ['src/**/*.test.ts'] },
})
