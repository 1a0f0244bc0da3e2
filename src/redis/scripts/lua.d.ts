// A `.lua` file imports as its text: vitest.config.ts (a plugin), tsup.config.ts (esbuild's text
// loader) and scripts/lua-text.mjs (a Node loader hook, for tsx) each make it so.
declare module '*.lua' {
  const source: string;
  export default source;
}
