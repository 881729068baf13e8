import path from 'node:path';
import Handlebars from 'handlebars';
import { findRawOutputs, rewriteOutputs } from './escape-ast';
import { registerHelpers } from './helpers';
import { RenderEscaping } from './render-escaping';
import type { RenderTarget } from './render-target';
import { parseTemplateJson, TemplateOutputError } from './json-output';
import type { EscapeTrace } from './escape-report';
import { compileErrorAt, MARK_HELPER, markerText, markStatements, parserPosition, statementPosition, TemplateRenderError, TemplateSyntaxError, unmark, type TemplateProblem } from './locate';
import { namesUsed, type PartialUse } from './undefined-names';
import { diskFiles, type TemplateFiles } from './template-files';

/** The shipped templates (package root /templates), used for whatever the user's directory does not define. */
export const BUILTIN_TEMPLATE_DIR = path.resolve(__dirname, '..', '..', 'templates');

/** Result of rendering one template: the parsed JSON value plus notes such as a fallback to the default. */
export interface RenderResult {
  value: Record<string, unknown>;
  /** The template that actually produced the value (differs from the requested one after a fallback). */
  template: string;
  /** True when the chosen template failed and the built-in default was used (the message carries a marker). */
  templateError?: boolean;
  warnings: string[];
}

/** How one render treats alert data beyond escaping. */
export interface RenderOptions {
  /** Collects what escaping and defanging did (the console's preview); never changes the output. */
  trace?: EscapeTrace;
  /**
   * Defang URLs in alert values that are not on the alert's own hosts (`hxxps://evil[.]example`), on Slack and
   * Discord. On unless a route says `defang: false`.
   */
  defang?: boolean;
}

/** A use of the raw form `{{{value}}}` (not escaped for the platform), for `check` to warn about. */
export interface RawUse {
  file: string;
  line: number;
  column: number;
}

const TEMPLATE_ERROR_MARKER = '⚠️ Template error: the configured template failed, showing the built-in message';

/** Makes a fallback visible in the message itself, so a broken template is noticed where it matters. */
function markTemplateError(value: Record<string, unknown>, target: RenderTarget): Record<string, unknown> {
  if (target === 'slack') {
    const blocks = Array.isArray(value.blocks) ? value.blocks : [];
    return { ...value, blocks: [...blocks, { type: 'context', elements: [{ type: 'mrkdwn', text: TEMPLATE_ERROR_MARKER, verbatim: true }] }] };
  }
  if (target === 'discord') {
    const content = typeof value.content === 'string' && value.content !== '' ? `${TEMPLATE_ERROR_MARKER}\n${value.content}` : TEMPLATE_ERROR_MARKER;
    return { ...value, content };
  }
  return { ...value, templateError: TEMPLATE_ERROR_MARKER };
}

type Compiled = Handlebars.TemplateDelegate;

const COMPILE_OPTIONS = { strict: false, noEscape: false } as const;
type CompileOptions = typeof COMPILE_OPTIONS & { knownHelpers: Record<string, boolean> };
/** Handlebars' compile step, run at load (Handlebars.compile defers it to the first render); not in its typings. */
type CompileStep = new () => { compile(program: hbs.AST.Program, options: object): unknown };

/**
 * Loads templates named `<name>.<target>.hbs` or `<name>/<target>.hbs` (user dir first, then the shipped
 * defaults) and partials from `partials/*.hbs`, compiles each once, and renders them to JSON objects with every
 * `{{value}}` escaped for its target. A user template that fails at render time falls back to the shipped
 * `default` template with a warning, so an alert is never dropped because of a template.
 */
export class TemplateEngine {
  private readonly hb = Handlebars.create();
  private readonly compiled = new Map<string, Compiled>();
  private readonly helperNames: Set<string>;
  /**
   * Compile options, the bridge's helpers among Handlebars' known helpers: a call to one compiles to a direct call
   * instead of a look-up in the helpers, then the context, then helperMissing, on every value of every render. The
   * same helper runs either way (a helper takes precedence over a context field of its name, and users add
   * templates and partials, never helpers).
   */
  private readonly compileOptions: CompileOptions;
  /** Templates that do not compile (`serve` refuses to start with any). */
  readonly problems: TemplateProblem[] = [];
  /** Calls to helpers and partials that do not exist; each fails when a render reaches it (`check` errors). */
  readonly undefinedNames: TemplateProblem[] = [];
  /** Every `{{{raw}}}` output in user templates (the shipped ones use none). */
  readonly rawUses: RawUse[] = [];
  /** Where each template came from, to locate a failed strict render in its file. */
  private readonly origins = new Map<string, { file: string; source: string }>();
  /** Set during a located render: told each statement the render reaches. */
  private markSeen: ((id: number) => void) | undefined;

  /**
   * `files`: where the directories are read (the disk; a delivery thread replays what the main thread read, so both
   * compile the same templates: template-files.ts).
   */
  constructor(
    private readonly userDir: string | undefined,
    private readonly builtinDir = BUILTIN_TEMPLATE_DIR,
    private readonly files: TemplateFiles = diskFiles,
  ) {
    registerHelpers(this.hb);
    this.hb.registerHelper(MARK_HELPER, (id: number) => {
      this.markSeen?.(id);
      return markerText(id);
    });
    this.helperNames = new Set(Object.keys(this.hb.helpers));
    this.compileOptions = { ...COMPILE_OPTIONS, knownHelpers: Object.fromEntries([...this.helperNames].map((name) => [name, true])) };
    const partialUses: (PartialUse & { file: string })[] = [];
    for (const dir of [this.builtinDir, this.userDir]) if (dir) this.loadDir(dir, partialUses);
    // Partials are checked once all are registered: one may use another loaded after it.
    for (const use of partialUses) {
      if (!this.hb.partials[use.name]) this.undefinedNames.push({ file: use.file, line: use.line, column: use.column, message: `unknown partial "${use.name}"` });
    }
  }

  /** True when a template `name` exists for `target` (user or shipped). */
  has(name: string, target: RenderTarget): boolean {
    return this.compiled.has(key(name, target));
  }

  /** Template names known for a target, for `check` and error messages. */
  names(target: RenderTarget): string[] {
    return [...this.compiled.keys()].filter((k) => k.endsWith(`.${target}`)).map((k) => k.slice(0, -target.length - 1));
  }

  /**
   * Renders the first of `candidates` that exists for `target` (route → destination → "default").
   * Throws only when the shipped default itself fails, which is a bug.
   */
  render(candidates: readonly (string | undefined)[], target: RenderTarget, view: object, options: RenderOptions = {}): RenderResult {
    const warnings: string[] = [];
    const wanted = candidates.filter((name): name is string => !!name);
    const name = wanted.find((candidate) => this.has(candidate, target)) ?? 'default';
    for (const missing of wanted.slice(0, wanted.indexOf(name) === -1 ? wanted.length : wanted.indexOf(name))) {
      warnings.push(`template "${missing}" has no ${target} variant; used "${name}"`);
    }
    try {
      return { value: this.renderOne(name, target, view, options), template: name, warnings };
    } catch (error) {
      const builtin = this.builtinDefault(target);
      if (!builtin) throw error;
      warnings.push(`template "${name}" failed (${(error as Error).message}); used the built-in default`);
      return { value: markTemplateError(this.run(builtin, view, target, options), target), template: 'default', warnings, templateError: true };
    }
  }

  private renderOne(name: string, target: RenderTarget, view: object, options: RenderOptions): Record<string, unknown> {
    const template = this.compiled.get(key(name, target));
    if (!template) throw new Error(`no template "${name}" for ${target}`);
    return this.run(template, view, target, options);
  }

  private run(template: Compiled, view: object, target: RenderTarget, options: RenderOptions): Record<string, unknown> {
    return parseTemplateJson(template(view, runtimeOptions(target, options, view)));
  }

  private builtinDefault(target: RenderTarget): Compiled | undefined {
    const file = path.join(this.builtinDir, `default.${target}.hbs`);
    return this.files.exists(file) ? this.compile(this.files.read(file)) : undefined;
  }

  private compile(source: string): Compiled {
    return this.compileParsed(this.parse(source));
  }

  /** Parses template source; a syntax error becomes a {@link TemplateSyntaxError} at the parser's position. */
  private parse(source: string): hbs.AST.Program {
    try {
      return this.hb.parse(source);
    } catch (error) {
      throw new TemplateSyntaxError(compileErrorAt(error, parserPosition(this.hb)));
    }
  }

  /** Rewrites the outputs for chat JSON and compiles, running Handlebars' compile step now so its errors show at load. */
  private compileParsed(ast: hbs.AST.Program): Compiled {
    rewriteOutputs(ast, this.helperNames);
    try {
      new (this.hb as unknown as { Compiler: CompileStep }).Compiler().compile(ast, { ...this.compileOptions });
    } catch (error) {
      throw new TemplateSyntaxError(compileErrorAt(error));
    }
    return this.hb.compile(ast, this.compileOptions) as Compiled;
  }

  private loadDir(dir: string, partialUses: (PartialUse & { file: string })[]): void {
    if (!this.files.exists(dir)) return;
    const load = (file: string, onCompiled: (compiled: Compiled, source: string) => void) => this.tryCompile(file, partialUses, onCompiled);
    const template = (name: string, target: RenderTarget, file: string) => (compiled: Compiled, source: string) => {
      this.compiled.set(key(name, target), compiled);
      this.origins.set(key(name, target), { file, source });
    };
    const partialsDir = path.join(dir, 'partials');
    if (this.files.exists(partialsDir)) {
      for (const file of this.files.list(partialsDir).map((e) => e.name).filter((f) => f.endsWith('.hbs'))) {
        load(path.join(partialsDir, file), (compiled) => this.hb.registerPartial(file.slice(0, -4), compiled));
      }
    }
    for (const entry of this.files.list(dir)) {
      if (entry.isFile) {
        const m = /^(.+)\.(slack|discord|console)\.hbs$/.exec(entry.name);
        const file = path.join(dir, entry.name);
        if (m) load(file, template(m[1]!, m[2] as RenderTarget, file));
      } else if (entry.isDirectory && entry.name !== 'partials') {
        for (const target of ['slack', 'discord', 'console'] as const) {
          const file = path.join(dir, entry.name, `${target}.hbs`);
          if (this.files.exists(file)) load(file, template(entry.name, target, file));
        }
      }
    }
  }

  /**
   * Renders one template strictly (no fallback): throws what a render would have fallen back from. For `check`,
   * which renders every template against sample alerts so a failure shows before an alert needs it.
   */
  renderStrict(name: string, target: RenderTarget, view: object, options: RenderOptions = {}): Record<string, unknown> {
    try {
      return this.renderOne(name, target, view, options);
    } catch (error) {
      throw this.locateFailure(name, target, view, options, error as Error);
    }
  }

  /**
   * Renders the failed template again with a marker before every statement (see markStatements): a render error
   * is at the last statement reached; output that is not a JSON object is at the statement (or, in literal
   * template text, the character) that wrote the offending part of the output.
   */
  private locateFailure(name: string, target: RenderTarget, view: object, options: RenderOptions, error: Error): Error {
    const origin = this.origins.get(key(name, target));
    if (!origin) return error;
    const own = compileErrorAt(error);
    const ast = this.hb.parse(origin.source);
    rewriteOutputs(ast, this.helperNames);
    const marked = markStatements(ast);
    let reached: number | undefined;
    this.markSeen = (id) => (reached = id);
    let text: string;
    try {
      text = this.hb.compile(ast, this.compileOptions)(view, runtimeOptions(target, options, view));
    } catch {
      const at = typeof (error as { lineNumber?: unknown }).lineNumber === 'number' ? own : statementPosition(marked, reached);
      return new TemplateRenderError(origin.file, at, own.message);
    } finally {
      this.markSeen = undefined;
    }
    if (!(error instanceof TemplateOutputError)) return new TemplateRenderError(origin.file, statementPosition(marked, reached), error.message);
    // The located output without its markers is the output that failed, so the error's offset applies to it.
    return new TemplateRenderError(origin.file, unmark(text, marked).positionAt(error.offset), error.message);
  }

  /**
   * Compiles `source` as template `name` for `target`, replacing any loaded one, for previewing an unsaved edit
   * on a throw-away engine. Returns the compile problem (nothing is replaced then), or null.
   */
  define(name: string, target: RenderTarget, source: string): TemplateProblem | null {
    const file = `${name}.${target}.hbs`;
    try {
      this.compiled.set(key(name, target), this.compile(source));
      this.origins.set(key(name, target), { file, source });
      return null;
    } catch (error) {
      return problemOf(file, error);
    }
  }

  private tryCompile(file: string, partialUses: (PartialUse & { file: string })[], onCompiled: (compiled: Compiled, source: string) => void): void {
    try {
      const source = this.files.read(file);
      const ast = this.parse(source);
      for (const position of findRawOutputs(ast)) this.rawUses.push({ file, ...position });
      const used = namesUsed(ast, (name) => this.helperNames.has(name));
      for (const helper of used.helpers) this.undefinedNames.push({ file, ...helper });
      for (const partial of used.partials) partialUses.push({ file, ...partial });
      onCompiled(this.compileParsed(ast), source);
    } catch (error) {
      this.problems.push(problemOf(file, error));
    }
  }
}

const key = (name: string, target: RenderTarget) => `${name}.${target}`;

/**
 * Options of every render of `view`: `data.target` picks the escaping, `data.defang` whether alert URLs are
 * defanged; `trace` only observes what escaping did (the console's preview): the output is the same with or without
 * it. `data.escaping` is all of that for the helpers, made once per render rather than once per value.
 */
const runtimeOptions = (target: RenderTarget, options: RenderOptions, view: object): Handlebars.RuntimeOptions => ({
  data: {
    target,
    defang: options.defang !== false,
    ...(options.trace ? { trace: options.trace } : {}),
    escaping: new RenderEscaping(target, options.defang !== false, options.trace, view),
  },
  allowProtoPropertiesByDefault: false,
  allowProtoMethodsByDefault: false,
});

/** A compile failure as a problem: located when it is a syntax error, else (an unreadable file) at 1:1. */
function problemOf(file: string, error: unknown): TemplateProblem {
  if (error instanceof TemplateSyntaxError) return { file, ...error.at };
  return { file, line: 1, column: 1, message: (error as Error).message };
}
