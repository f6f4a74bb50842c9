/** Programs in other languages, imported as their text (esbuild's text loader; see scripts/build.mjs). */
declare module '*.pl' {
  const text: string;
  export default text;
}

/** The OpenAPI document of `conductor serve` (src/http/openapi.yaml), imported as its text. */
declare module '*.yaml' {
  const text: string;
  export default text;
}
