import js from '@eslint/js'
import tseslint from 'typescript-eslint'

/**
 * Import boundaries (docs/architecture.md, "Layers"). Each group is a regex over the import
 * specifier and a reason; `boundaries(...)` turns groups into rules that catch static imports,
 * `export ... from`, dynamic `import()` and type-only `import('...')` types alike.
 */
const FRONT_END = {
  regex: '^(@oclif|oclif|listr2|cli-table3)([/]|$)',
  message:
    'the core never loads the CLI front end (oclif, listr2, cli-table3): report events; src/ui and src/commands render them',
}
const SDK = {
  regex: '^@(aws-sdk|smithy)[/]',
  message: 'only src/aws imports the AWS SDK: go through a port (src/project/ports.ts)',
}
const SSH2 = {regex: '^ssh2([/]|$)', message: 'only src/exec imports ssh2'}
const UPWARD = {
  regex: '^([.]{1,2}[/])+(commands|ui)[/]|(^|[/])base-command([.]js)?$',
  message: 'nothing imports upward: the core never imports src/commands, src/ui or src/base-command.ts',
}
const UI_UPWARD = {
  regex: '^([.]{1,2}[/])+commands[/]|(^|[/])base-command([.]js)?$',
  message: "src/ui renders the core's results; it never imports src/commands or src/base-command.ts",
}
function boundaries(...groups) {
  const syntax = (node, path) =>
    groups.map((g) => ({selector: `${node}[${path}=/${g.regex}/]`, message: g.message}))
  return {
    'no-restricted-imports': ['error', {patterns: groups.map((g) => ({regex: g.regex, message: g.message}))}],
    'no-restricted-syntax': [
      'error',
      ...syntax('ImportExpression', 'source.value'),
      ...syntax('TSImportType', 'argument.literal.value'),
    ],
  }
}

export default tseslint.config(
  {ignores: ['dist/**', 'node_modules/**', '.cache/**', 'bench/tmp/**', 'coverage/**']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        URL: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        Buffer: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', {argsIgnorePattern: '^_'}],
      // Domain errors deliberately do not carry the SDK error as `cause`: it holds request details.
      'preserve-caught-error': 'off',
    },
  },
  {
    files: ['src/project/**', 'src/selectors/**', 'src/config/**', 'src/util/**', 'src/index.ts'],
    rules: boundaries(FRONT_END, SDK, SSH2, UPWARD),
  },
  {files: ['src/aws/**'], rules: boundaries(FRONT_END, SSH2, UPWARD)},
  {files: ['src/exec/**'], rules: boundaries(FRONT_END, SDK, UPWARD)},
  {files: ['src/ui/**'], rules: boundaries(SDK, SSH2, UI_UPWARD)},
  {files: ['src/commands/**', 'src/base-command.ts'], rules: boundaries(SDK, SSH2)},
  {
    files: ['**/*.cjs'],
    languageOptions: {sourceType: 'commonjs', globals: {require: 'readonly', module: 'writable'}},
    rules: {'@typescript-eslint/no-require-imports': 'off'},
  },
)
