/** One problem (or warning) in a config: `path` like `routes[1].to[0]` ('' for the whole file), `line` 1-based. */
export interface ConfigProblem {
  path: string;
  message: string;
  line?: number;
}
