import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'models/', 'data/', 'coverage/', '.tmp/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['@tensorflow/*', '@vladmandic/*'], message: 'tfjs and face models are imported only in edge/src/vision/' }] },
      ],
    },
  },
  {
    files: ['edge/src/vision/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['edge/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/server/**'], message: 'edge must not import server code; share through common/' },
            { group: ['@tensorflow/*', '@vladmandic/*'], message: 'tfjs and face models are imported only in edge/src/vision/' },
          ],
        },
      ],
    },
  },
  {
    files: ['edge/src/vision/**'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['**/server/**'], message: 'edge must not import server code' }] }],
    },
  },
  {
    // Layers of the edge's meal path: clock ← sync ← meals. The lower ones never import the
    // higher, so no import cycle can form between them (main.ts wires them together).
    files: ['edge/src/sync/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/server/**'], message: 'edge must not import server code; share through common/' },
            { group: ['@tensorflow/*', '@vladmandic/*'], message: 'tfjs and face models are imported only in edge/src/vision/' },
            { group: ['**/meals/**'], message: 'sync/ (outbox, forwarder) must not import meals/: meals use the outbox, not the other way round' },
          ],
        },
      ],
    },
  },
  {
    files: ['edge/src/clock/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/server/**'], message: 'edge must not import server code; share through common/' },
            { group: ['@tensorflow/*', '@vladmandic/*'], message: 'tfjs and face models are imported only in edge/src/vision/' },
            { group: ['**/meals/**', '**/sync/**'], message: 'clock/ must not import meals/ or sync/: they use the clock, not the other way round' },
          ],
        },
      ],
    },
  },
  {
    files: ['server/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/edge/**'], message: 'server must not import edge code; share through common/' },
            { group: ['@tensorflow/*', '@vladmandic/*'], message: 'tfjs and face models are imported only in edge/src/vision/' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
  {
    // The bureau pages' scripts run in the browser (plain ES5-style, no build step).
    files: ['server/src/web/pages/assets/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { window: 'readonly', document: 'readonly', location: 'readonly', fetch: 'readonly', FormData: 'readonly', URLSearchParams: 'readonly', setTimeout: 'readonly', Promise: 'readonly' },
    },
  },
);
