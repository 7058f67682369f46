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
    // the layers: protocol logic touches no GObject library; the engine never touches the shell
    {
        files: ['src/protocol/**/*.ts'],
        rules: {'no-restricted-imports': ['error', {patterns: [{regex: '^(gi|resource):', message: 'src/protocol is pure logic'}]}]},
    },
    {
        files: ['src/net/**/*.ts', 'src/core/**/*.ts', 'src/lib/**/*.ts', 'src/cli/**/*.ts'],
        rules: {'no-restricted-imports': ['error', {patterns: [
            {regex: '^resource:', message: 'the engine runs without the shell'},
            {regex: '^gi://(St|Clutter|Meta|Shell|Gtk|Adw)', message: 'the engine runs without a toolkit'},
            {regex: '/shell/', message: 'the engine never imports the shell face'},
        ]}]},
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
