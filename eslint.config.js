/** ESLint for the whole tree: typescript-eslint's recommended rules, with formatting left to Prettier. */
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/generated/**', '**/drizzle/**', '.data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      // An underscore marks a parameter a signature needs but the body does not (resolver `_parent`, `_args`).
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Tests and a few library seams assert shapes graphql-js and Apollo type as `any`.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // Scripts the gateway serves to browsers as they are (no build step): browser globals, and the UMD builds' own.
    files: ['gateway/public/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: { ...globals.browser, GraphiQL: 'readonly', React: 'readonly', ReactDOM: 'readonly' },
    },
  },
  prettier,
);
