/** SQL files are bundled as their text (esbuild's text loader; the vitest config does the same). */
declare module '*.sql' {
  const text: string;
  export default text;
}
