/** acceptq's version, from package.json (the compiled file is dist/src/version.js: two levels below it). */
// eslint-disable-next-line @typescript-eslint/no-var-requires
export const VERSION: string = require('../../package.json').version;
