import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { findRawOutputs, parseForChat } from './escape-ast';
import { registerHelpers } from './helpers';
import type { RenderTarget } from './render-target';
import { parseTemplateJson } from './json-output';
import type { EscapeTrace } from './escape-report';

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

export interface TemplateProblem {
  file: string;
  message: string;
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
  readonly problems: TemplateProblem[] = [];
  /** Every `{{{raw}}}` output in user templates (the shipped ones use none). */
  readonly rawUses: RawUse[] = [];

  constructor(private readonly userDir: string | undefined, private readonly builtinDir = BUILTIN_TEMPLATE_DIR) {
    registerHelpers(this.hb);
    this.helperNames = new Set(Object.keys(this.hb.helpers));
    for (const dir of [this.builtinDir, this.userDir]) if (dir) this.loadDir(dir);
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
  render(candidates: readonly (string | undefined)[], target: RenderTarget, view: object, trace?: EscapeTrace): RenderResult {
    const warnings: string[] = [];
    const wanted = candidates.filter((name): name is string => !!name);
    const name = wanted.find((candidate) => this.has(candidate, target)) ?? 'default';
    for (const missing of wanted.slice(0, wanted.indexOf(name) === -1 ? wanted.length : wanted.indexOf(name))) {
      warnings.push(`template "${missing}" has no ${target} variant; used "${name}"`);
    }
    try {
      return { value: this.renderOne(name, target, view, trace), template: name, warnings };
    } catch (error) {
      const builtin = this.builtinDefault(target);
      if (!builtin) throw error;
      warnings.push(`template "${name}" failed (${(error as Error).message}); used the built-in default`);
      return { value: markTemplateError(this.run(builtin, view, target, trace), target), template: 'default', warnings, templateError: true };
    }
  }

  private renderOne(name: string, target: RenderTarget, view: object, trace?: EscapeTrace): Record<string, unknown> {
    const template = this.compiled.get(key(name, target));
    if (!template) throw new Error(`no template "${name}" for ${target}`);
    return this.run(template, view, target, trace);
  }

  private run(template: Compiled, view: object, target: RenderTarget, trace?: EscapeTrace): Record<string, unknown> {
    const text = template(view, {
      // `trace` only collects what escaping did (console preview); the output is the same with or without it.
      data: trace ? { target, trace } : { target },
      allowProtoPropertiesByDefault: false,
      allowProtoMethodsByDefault: false,
    });
    const value = parseTemplateJson(text);
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      throw new Error('template output must be a JSON object');
    }
    return value as Record<string, unknown>;
  }

  private builtinDefault(target: RenderTarget): Compiled | undefined {
    const file = path.join(this.builtinDir, `default.${target}.hbs`);
    return existsSync(file) ? this.compile(readFileSync(file, 'utf8')) : undefined;
  }

  private compile(source: string): Compiled {
    const ast = parseForChat(this.hb, source, this.helperNames);
    return this.hb.compile(ast, { strict: false, noEscape: false }) as Compiled;
  }

  private loadDir(dir: string): void {
    if (!existsSync(dir)) return;
    const partialsDir = path.join(dir, 'partials');
    if (existsSync(partialsDir)) {
      for (const file of readdirSync(partialsDir).filter((f) => f.endsWith('.hbs'))) {
        this.tryCompile(path.join(partialsDir, file), (compiled) => this.hb.registerPartial(file.slice(0, -4), compiled));
      }
    }
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isFile()) {
        const m = /^(.+)\.(slack|discord|console)\.hbs$/.exec(entry.name);
        if (m) this.tryCompile(path.join(dir, entry.name), (compiled) => this.compiled.set(key(m[1]!, m[2] as RenderTarget), compiled));
      } else if (entry.isDirectory() && entry.name !== 'partials') {
        for (const target of ['slack', 'discord', 'console'] as const) {
          const file = path.join(dir, entry.name, `${target}.hbs`);
          if (existsSync(file)) this.tryCompile(file, (compiled) => this.compiled.set(key(entry.name, target), compiled));
        }
      }
    }
  }

  /**
   * Renders one template strictly (no fallback): throws what a render would have fallen back from. For `check`,
   * which renders every template against sample alerts so a failure shows before an alert needs it.
   */
  renderStrict(name: string, target: RenderTarget, view: object): Record<string, unknown> {
    return this.renderOne(name, target, view);
  }

  /**
   * Compiles `source` as template `name` for `target`, replacing any loaded one, for previewing an unsaved edit
   * on a throw-away engine. Returns the compile problem (nothing is replaced then), or null.
   */
  define(name: string, target: RenderTarget, source: string): TemplateProblem | null {
    try {
      this.compiled.set(key(name, target), this.compile(source));
      return null;
    } catch (error) {
      return { file: `${name}.${target}.hbs`, message: (error as Error).message };
    }
  }

  private tryCompile(file: string, onCompiled: (compiled: Compiled) => void): void {
    try {
      const source = readFileSync(file, 'utf8');
      for (const position of findRawOutputs(this.hb.parse(source))) this.rawUses.push({ file, ...position });
      const compiled = this.compile(source);
      onCompiled(compiled);
    } catch (error) {
      this.problems.push({ file, message: (error as Error).message });
    }
  }
}

const key = (name: string, target: RenderTarget) => `${name}.${target}`;
