/**
 * Helpers and partials a template calls that do not exist. Handlebars finds them only when a render reaches the
 * call ("Missing helper", "The partial … could not be found"), so a mistake in a branch the sample alerts never take
 * would surface on a live alert; `check` reports them from the template itself, with their position.
 */
import type { TemplatePosition } from './locate';

export interface UndefinedName extends TemplatePosition {
  message: string;
}

/** A partial reference to verify once every partial is registered (a partial may use one registered after it). */
export interface PartialUse extends TemplatePosition {
  name: string;
}

type Node = hbs.AST.Node & Record<string, unknown>;
type Call = { path: hbs.AST.Expression; params: hbs.AST.Expression[]; hash?: hbs.AST.Hash };

/** A plain name (`foo`, not `this.foo`, `../foo`, `@foo` or `a.b`): the only form that can name a helper. */
function simpleName(path: hbs.AST.Expression): string | undefined {
  if (path.type !== 'PathExpression') return undefined;
  const p = path as hbs.AST.PathExpression;
  return !p.data && p.depth === 0 && p.parts.length === 1 && p.original === p.parts[0] ? p.original : undefined;
}

const at = (loc: hbs.AST.SourceLocation | undefined): TemplatePosition => ({ line: loc?.start.line ?? 1, column: (loc?.start.column ?? 0) + 1 });

/**
 * Walks a parsed template (before the escape rewrite) and returns every call with arguments to a name that is not
 * a helper — Handlebars throws "Missing helper" for those — and every static partial reference, which the caller
 * checks against the registered partials. Inline partials (`{{#*inline "x"}}`) defined in the template count as
 * defined; a partial block (`{{#> x}}fallback{{/x}}`) renders its fallback when `x` is missing, so it is fine.
 */
export function namesUsed(program: hbs.AST.Program, isHelper: (name: string) => boolean): { helpers: UndefinedName[]; partials: PartialUse[] } {
  const helpers: UndefinedName[] = [];
  const partials: PartialUse[] = [];
  const inline = new Set<string>();
  const call = (node: Call) => {
    const name = simpleName(node.path);
    const hasArguments = node.params.length > 0 || (node.hash?.pairs.length ?? 0) > 0;
    if (name !== undefined && hasArguments && !isHelper(name)) helpers.push({ ...at(node.path.loc), message: `unknown helper "${name}"` });
  };
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (!value || typeof value !== 'object') return;
    const node = value as Node;
    switch (node.type) {
      case 'MustacheStatement':
      case 'SubExpression':
      case 'BlockStatement':
        call(node as unknown as Call);
        break;
      case 'DecoratorBlock': {
        const decorator = node as unknown as hbs.AST.DecoratorBlock;
        const first = decorator.params[0];
        if (simpleName(decorator.path) === 'inline' && first?.type === 'StringLiteral') inline.add((first as hbs.AST.StringLiteral).value);
        break;
      }
      case 'PartialStatement': {
        const partial = node as unknown as hbs.AST.PartialStatement;
        const name = partial.name.type === 'PathExpression' ? ((partial.name as hbs.AST.PathExpression).data ? undefined : (partial.name as hbs.AST.PathExpression).original) : partial.name.type === 'SubExpression' ? undefined : String((partial.name as hbs.AST.StringLiteral).value);
        if (name !== undefined) partials.push({ ...at(partial.loc), name });
        break;
      }
      default:
        break;
    }
    for (const [key, child] of Object.entries(node)) if (key !== 'loc' && key !== 'strip') visit(child);
  };
  visit(program);
  return { helpers, partials: partials.filter((p) => !inline.has(p.name)) };
}
