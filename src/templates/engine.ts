import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { parseForChat } from './escape-ast';
import { registerHelpers, type RenderTarget } from './helpers';
import { parseTemplateJson } from './json-output';

/** The shipped templates (package root /templates), used for whatever the user's directory does not define. */
export const BUILTIN_TEMPLATE_DIR = path.resolve(__dirname, '..', '..', 'templates');

/** Result of rendering one template: the parsed JSON value plus notes such as a fallback to the default. */
export interface RenderResult {
  value: Record<string, unknown>;
  /** The template that actually produced the value (differs from the requested one after a fallback). */
  template: string;
  warnings: string[];
}

export interface TemplateProblem {
  file: string;
  message: string;
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
  render(candidates: readonly (string | undefined)[], target: RenderTarget, view: object): RenderResult {
    const warnings: string[] = [];
    const wanted = candidates.filter((name): name is string => !!name);
    const name = wanted.find((candidate) => this.has(candidate, target)) ?? 'default';
    for (const missing of wanted.slice(0, wanted.indexOf(name) === -1 ? wanted.length : wanted.indexOf(name))) {
      warnings.push(`template "${missing}" has no ${target} variant; used "${name}"`);
    }
    try {
      return { value: this.renderOne(name, target, view), template: name, warnings };
    } catch (error) {
      const builtin = this.builtinDefault(target);
      if (!builtin) throw error;
      warnings.push(`template "${name}" failed (${(error as Error).message}); used the built-in default`);
      return { value: this.run(builtin, view, target), template: 'default', warnings };
    }
  }

  private renderOne(name: string, target: RenderTarget, view: object): Record<string, unknown> {
    const template = this.compiled.get(key(name, target));
    if (!template) throw new Error(`no template "${name}" for ${target}`);
    return this.run(template, view, target);
  }

  private run(template: Compiled, view: object, target: RenderTarget): Record<string, unknown> {
    const text = template(view, {
      data: { target },
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

  private tryCompile(file: string, onCompiled: (compiled: Compiled) => void): void {
    try {
      const compiled = this.compile(readFileSync(file, 'utf8'));
      onCompiled(compiled);
    } catch (error) {
      this.problems.push({ file, message: (error as Error).message });
    }
  }
}

const key = (name: string, target: RenderTarget) => `${name}.${target}`;
