/**
 * Preloaded with `node --require` into a run of the CLI: at exit, writes to
 * the file NATIVE_LOADS_FILE names, as JSON, every native addon the process
 * loaded (process.dlopen: how node loads any .node file) and every module
 * of the binding (helper, structs) or the FFI packages it required.
 */
import fs from 'node:fs';

/** The packages that load native code and the binding's files that import them. */
const NATIVE_MODULE = /\/(@2060\.io\/(ffi|ref)-napi|ref-struct-di)\/|\/src\/native\/(helper|structs)\.js$/;

const report = process.env.NATIVE_LOADS_FILE;
if (report) {
  const addons: string[] = [];
  const dlopen = process.dlopen;
  process.dlopen = function (this: unknown, ...args: Parameters<typeof process.dlopen>) {
    addons.push(args[1]);
    return dlopen.apply(this, args);
  } as typeof process.dlopen;
  process.on('exit', () => {
    const binding = Object.keys(require.cache).filter((f) => NATIVE_MODULE.test(f));
    fs.writeFileSync(report, JSON.stringify({ addons, binding }));
  });
}
