/** Programs in other languages, imported as their text (esbuild's text loader; see scripts/build.mjs). */
declare module '*.pl' {
  const text: string;
  export default text;
}
