// The logfmt package ships no types; its parser module exports one function.
declare module 'logfmt/lib/logfmt_parser.js' {
  const parser: { parse(line: string): Record<string, string | boolean | null> };
  export default parser;
}
