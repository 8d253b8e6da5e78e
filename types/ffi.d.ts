// Minimal typings for the FFI packages (they ship none).
declare module '@2060.io/ref-napi' {
  const ref: any;
  export = ref;
}
declare module '@2060.io/ffi-napi' {
  const ffi: any;
  export = ffi;
}
declare module 'ref-struct-di' {
  function StructDi(ref: any): any;
  export = StructDi;
}
declare module 'blessed-contrib/lib/widget/sparkline' {
  const sparkline: (options: any) => any;
  export = sparkline;
}
