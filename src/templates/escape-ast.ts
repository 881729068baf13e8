type Node = hbs.AST.Node;

/** Helper names the rewritten templates call; users never write these. */
export const ESCAPE_HELPER = '__esc';
export const RAW_HELPER = '__raw';

/**
 * Rewrites a parsed template so every `{{value}}` becomes `{{__esc value}}` and every `{{{value}}}` becomes
 * `{{__raw value}}`, both unescaped at the Handlebars level. Handlebars' own HTML escaping is global to the
 * library and wrong for chat JSON; routing every output through our helpers lets one render escape for its
 * target (Slack mrkdwn, Discord markdown) *and* for the JSON string the value lands in.
 *
 * `helperNames` tells which bare names are helpers: `{{helper}}` must still call it, while `{{value}}` must
 * still look the value up (a zero-argument subexpression of a non-helper throws in Handlebars).
 */
export function rewriteOutputs(program: hbs.AST.Program, helperNames: ReadonlySet<string>): hbs.AST.Program {
  visit(program, helperNames);
  return program;
}

function visit(node: Node | undefined | null, helperNames: ReadonlySet<string>): void {
  if (!node || typeof node !== 'object') return;
  switch (node.type) {
    case 'Program':
      for (const statement of (node as hbs.AST.Program).body) visit(statement, helperNames);
      return;
    case 'BlockStatement':
    case 'DecoratorBlock':
    case 'PartialBlockStatement': {
      const block = node as hbs.AST.BlockStatement;
      visit(block.program, helperNames);
      visit(block.inverse, helperNames);
      return;
    }
    case 'MustacheStatement':
      wrapMustache(node as hbs.AST.MustacheStatement, helperNames);
      return;
    default:
      return;
  }
}

function wrapMustache(mustache: hbs.AST.MustacheStatement, helperNames: ReadonlySet<string>): void {
  const helper = mustache.escaped ? ESCAPE_HELPER : RAW_HELPER;
  const loc = mustache.loc;
  const hasArgs = mustache.params.length > 0 || (mustache.hash && mustache.hash.pairs.length > 0);
  const path = mustache.path;
  const isBareHelper = path.type === 'PathExpression' && isHelperPath(path as hbs.AST.PathExpression, helperNames);
  let inner: hbs.AST.Expression;
  if (hasArgs || isBareHelper) {
    const sub: hbs.AST.SubExpression = {
      type: 'SubExpression',
      path: path as hbs.AST.PathExpression,
      params: mustache.params,
      hash: mustache.hash,
      loc,
    };
    inner = sub;
  } else {
    inner = path;
  }
  const escapePath: hbs.AST.PathExpression = {
    type: 'PathExpression',
    data: false,
    depth: 0,
    parts: [helper],
    original: helper,
    loc,
  };
  mustache.path = escapePath;
  mustache.params = [inner];
  mustache.hash = undefined as unknown as hbs.AST.Hash;
  mustache.escaped = false;
}

function isHelperPath(path: hbs.AST.PathExpression, helperNames: ReadonlySet<string>): boolean {
  return !path.data && path.depth === 0 && path.parts.length === 1 && helperNames.has(path.original);
}

/** Positions (1-based line, 1-based column) of every `{{{raw}}}` output in a parsed template, blocks included. */
export function findRawOutputs(program: hbs.AST.Program): { line: number; column: number }[] {
  const found: { line: number; column: number }[] = [];
  const walk = (node: Node | undefined | null): void => {
    if (!node || typeof node !== 'object') return;
    if (node.type === 'Program') for (const statement of (node as hbs.AST.Program).body) walk(statement);
    else if (node.type === 'BlockStatement' || node.type === 'DecoratorBlock' || node.type === 'PartialBlockStatement') {
      walk((node as hbs.AST.BlockStatement).program);
      walk((node as hbs.AST.BlockStatement).inverse);
    } else if (node.type === 'MustacheStatement' && !(node as hbs.AST.MustacheStatement).escaped) {
      found.push({ line: node.loc.start.line, column: node.loc.start.column + 1 });
    }
  };
  walk(program);
  return found;
}
