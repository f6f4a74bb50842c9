// Lint for TypeScript (typescript-eslint's recommended rules) and the build and bench scripts.
// Formatting is prettier's (see .prettierrc.json), not eslint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const node = Object.fromEntries(
  [
    'process',
    'console',
    'Buffer',
    'URL',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'setImmediate',
    'performance',
    'fetch',
    '__dirname',
    'require',
    'module',
  ].map((g) => [g, 'readonly']),
);

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: node },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Unused names are tsc's job (noUnusedLocals, noUnusedParameters); `_`-prefixed ones are meant.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Heavy libraries load on first use (require, see scripts/build.mjs): start-up time of `queue` and `trigger`.
      '@typescript-eslint/no-require-imports': 'off',
      // `catch { /* why */ }` is how a deliberately ignored failure is written here.
      'no-empty': ['error', { allowEmptyCatch: true }],
      // Control characters are matched on purpose: they are what printable() escapes and checks refuse.
      'no-control-regex': 'off',
    },
  },
  {
    // Tests read the CLI's JSON output, whose shape is what they check: `any` there is the point.
    files: ['test/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Records read from files, rows and import documents are untrusted JSON: these modules take
    // them as `any` and check every field before anything typed sees them (store/check.ts).
    files: [
      'src/store/check.ts',
      'src/store/policy.ts',
      'src/store/file/home.ts',
      'src/store/file/schedules.ts',
      'src/store/postgres/schedules.ts',
      'src/store/postgres/session.ts',
      'src/app/transfer.ts',
    ],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // Each store is its role objects put together at run time (Object.assign in the constructor);
    // the interface of the same name gives the class the Store type those roles implement.
    files: ['src/store/file/index.ts', 'src/store/postgres/index.ts'],
    rules: { '@typescript-eslint/no-empty-object-type': 'off', '@typescript-eslint/no-unsafe-declaration-merging': 'off' },
  },
);
