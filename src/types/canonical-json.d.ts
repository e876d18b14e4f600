// canonical-json@0.0.4 ships no types: one CommonJS function.
declare module 'canonical-json' {
  function stringify(value: unknown): string;
  export default stringify;
}
