// ESLint with typescript-eslint: the recommended rules, plus the project's own:
// SQL text lives only in repositories (each table has one owner), migrations, bench/ and tests.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'static/vendor/**', 'coverage/**', 'test-artifacts/**', 'data/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: false } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      'no-console': 'error',
      // Input validation here refuses control characters on purpose.
      'no-control-regex': 'off',
    },
  },
  { files: ['static/js/**'], languageOptions: { globals: globals.browser } },
  { files: ['**/*.js', '**/*.cjs'], ignores: ['static/js/**'], languageOptions: { globals: globals.node, sourceType: 'commonjs' } },
  {
    files: ['test/**', 'bench/**', 'scripts/**', 'src/cli/**', 'src/main.ts', '**/*.js'],
    rules: { 'no-console': 'off', '@typescript-eslint/no-require-imports': 'off', '@typescript-eslint/no-explicit-any': 'off' },
  },
);
