/**
 * Where in a template file an error is, as 1-based line and column, for `check`'s `file:line:column: message`
 * (the form editors jump to). Handlebars reports positions four different ways, or not at all:
 * - its Exceptions (mismatched blocks, invalid paths, partial arguments) carry `lineNumber` and a 0-based
 *   `column`, and append " - L:C" to the message;
 * - its Jison parser's parse and lexical errors carry only "on line N" plus a context excerpt with a caret (the
 *   column is the lexer's, read right after the failed parse);
 * - errors while rendering (a missing helper or partial, a helper that throws) and output that is not JSON carry
 *   no template position: a located render finds it (see {@link markStatements}).
 */
import type Handlebars from 'handlebars';

type HB = typeof Handlebars;

export interface TemplatePosition {
  line: number;
  column: number;
}

/** A problem in a template file, at a 1-based line and column. */
export interface TemplateProblem extends TemplatePosition {
  file: string;
  message: string;
}

/** `file:line:column: message`, the form editors and terminals jump to. */
export function formatTemplateProblem(problem: TemplateProblem): string {
  return `${problem.file}:${problem.line}:${problem.column}: ${problem.message}`;
}

/** A template that does not compile, at the position Handlebars' error gives or implies. */
export class TemplateSyntaxError extends Error {
  constructor(readonly at: TemplatePosition & { message: string }) {
    super(at.message);
  }
}

/** A strict render failed (`TemplateEngine.renderStrict`): where in which file. */
export class TemplateRenderError extends Error implements TemplateProblem {
  readonly line: number;
  readonly column: number;

  constructor(
    readonly file: string,
    at: TemplatePosition,
    message: string,
  ) {
    super(message);
    this.line = at.line;
    this.column = at.column;
  }
}

/** Where the parser stopped: its lexer's last token (valid right after a parse that threw; parsing is synchronous). */
export function parserPosition(hb: HB): TemplatePosition | undefined {
  const at = (hb as unknown as { Parser?: { lexer?: { yylloc?: { first_line?: number; first_column?: number } } } }).Parser?.lexer?.yylloc;
  return typeof at?.first_line === 'number' && typeof at.first_column === 'number' ? { line: at.first_line, column: at.first_column + 1 } : undefined;
}

/**
 * Position and one-line message of a compile error. `parserAt` is where the parser stopped, for errors raised
 * while parsing; errors of the later compile step without a position of their own are put at 1:1.
 */
export function compileErrorAt(error: unknown, parserAt?: TemplatePosition): TemplatePosition & { message: string } {
  const e = error as { message?: unknown; lineNumber?: unknown; column?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(error);
  if (typeof e.lineNumber === 'number' && typeof e.column === 'number') {
    return { line: e.lineNumber, column: e.column + 1, message: message.replace(/ - \d+:\d+$/, '') };
  }
  // "Parse error on line 3:\n<excerpt>\n----^\nExpecting 'ID', got 'INVALID'" / "Parse error on line 3: Unexpected 'X'" /
  // "Lexical error on line 3. Unrecognized text.\n<excerpt>\n----^": the excerpt and caret only repeat the position.
  const lines = message.split('\n');
  const jison = /^(Parse|Lexical) error on line \d+[.:]\s*(.*)$/.exec(lines[0]!);
  const oneLine = jison ? `${jison[1]} error: ${jison[2] || lines.find((l) => l.startsWith('Expecting ')) || 'unexpected input'}` : lines.join(' ');
  return { ...(parserAt ?? { line: 1, column: 1 }), message: oneLine };
}

/** The helper a located render calls before each statement: it records the statement and marks the output. */
export const MARK_HELPER = '__at';
const MARK_OPEN = '\u0000';
const MARK_CLOSE = '\u0001';
export const markerText = (id: number) => `${MARK_OPEN}${id}${MARK_CLOSE}`;

type Statement = hbs.AST.Statement & { loc: hbs.AST.SourceLocation };
interface Marked {
  loc: hbs.AST.SourceLocation;
  /** For literal template text: its source and what is output of it (whitespace control may trim the ends). */
  content?: { original: string; value: string };
}

/**
 * Inserts `{{__at N}}` before every statement of a parsed template (blocks' bodies included), so a render records
 * the statement it is in and its output carries a marker where each statement's output begins. Returns what each
 * N stands for. Whitespace control has already been applied by the parser, so the markers change nothing else.
 */
export function markStatements(program: hbs.AST.Program): Marked[] {
  const marked: Marked[] = [];
  const visit = (node: hbs.AST.Program | undefined | null): void => {
    if (!node) return;
    node.body = node.body.flatMap((statement) => {
      const s = statement as Statement;
      if (s.type === 'BlockStatement' || s.type === 'DecoratorBlock' || s.type === 'PartialBlockStatement') {
        visit((s as unknown as hbs.AST.BlockStatement).program);
        visit((s as unknown as hbs.AST.BlockStatement).inverse);
      }
      if (!s.loc) return [s];
      // (Handlebars' typings call `original` StripFlags; it is the statement's source text.)
      const content = s.type === 'ContentStatement' ? { original: String((s as unknown as { original: string }).original), value: (s as hbs.AST.ContentStatement).value } : undefined;
      marked.push({ loc: s.loc, ...(content ? { content } : {}) });
      return [markNode(marked.length - 1, s.loc), s];
    });
  };
  visit(program);
  return marked;
}

function markNode(id: number, loc: hbs.AST.SourceLocation): hbs.AST.MustacheStatement {
  return {
    type: 'MustacheStatement',
    path: { type: 'PathExpression', data: false, depth: 0, parts: [MARK_HELPER], original: MARK_HELPER, loc } as hbs.AST.PathExpression,
    params: [{ type: 'NumberLiteral', value: id, original: id, loc } as hbs.AST.NumberLiteral],
    hash: undefined as unknown as hbs.AST.Hash,
    escaped: false,
    strip: { open: false, close: false },
    loc,
  };
}

/** Where statement `id` begins (1:1 when no statement was reached). */
export function statementPosition(marked: readonly Marked[], id: number | undefined): TemplatePosition {
  const loc = id === undefined ? undefined : marked[id]?.loc;
  return loc ? { line: loc.start.line, column: loc.start.column + 1 } : { line: 1, column: 1 };
}

/**
 * Removes the markers from a located render's output (giving exactly the normal output) and returns a function
 * from an offset in that output to the template position that produced it: inside literal template text, the
 * exact character; inside a value's output, the start of the `{{…}}` that wrote it.
 */
export function unmark(text: string, marked: readonly Marked[]): { output: string; positionAt(offset: number): TemplatePosition } {
  const parts: string[] = [];
  const segments: { start: number; id: number | undefined }[] = [{ start: 0, id: undefined }];
  let length = 0;
  let from = 0;
  let search = 0;
  for (let open = text.indexOf(MARK_OPEN); open !== -1; open = text.indexOf(MARK_OPEN, search)) {
    const close = text.indexOf(MARK_CLOSE, open);
    const digits = close === -1 ? '' : text.slice(open + 1, close);
    const id = /^\d+$/.test(digits) ? Number(digits) : NaN;
    search = open + 1;
    // Not a marker (alert text in a raw output): it stays in the output.
    if (!marked[id]) continue;
    const piece = text.slice(from, open);
    parts.push(piece);
    length += piece.length;
    segments.push({ start: length, id });
    from = search = close + 1;
  }
  parts.push(text.slice(from));
  const positionAt = (offset: number): TemplatePosition => {
    let segment = segments[0]!;
    for (const s of segments) if (s.start <= offset) segment = s;
    const entry = segment.id === undefined ? undefined : marked[segment.id];
    if (!entry?.content) return statementPosition(marked, segment.id);
    // Literal text: skip what whitespace control trimmed from its start, then count lines in the source.
    const { original, value } = entry.content;
    let skipped = 0;
    while (skipped < original.length && !original.startsWith(value, skipped)) skipped++;
    const before = original.slice(0, skipped + Math.min(offset - segment.start, value.length));
    const newlines = before.split('\n');
    const line = entry.loc.start.line + newlines.length - 1;
    const column = newlines.length === 1 ? entry.loc.start.column + before.length + 1 : newlines[newlines.length - 1]!.length + 1;
    return { line, column };
  };
  return { output: parts.join(''), positionAt };
}
