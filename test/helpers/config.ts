/**
 * Agent configurations that tests build again and again, as the body under `logloom:` that
 * startAgent takes (DIR stands for the test's directory).
 */

/**
 * One input of `type` whose keys are `keys` (YAML lines indented six spaces, as under a list
 * item), and the sink_file plugin writing every entry as a JSON line to DIR/<out>: the set-up of
 * most input tests.
 */
export function inputToFile(type: string, keys: string, out = 'out.ndjson'): string {
  return `  inputs:
    - type: ${type}
${keys}  plugins:
    enabled: [sink_file]
    config:
      sink_file:
        path: DIR/${out}
        format: json
`;
}
