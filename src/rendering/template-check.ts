import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema';
import { buildView } from '../destinations/view';
import { alertsOf } from '../sources/detect';
import { TemplateEngine } from '../templates/engine';
import { formatTemplateProblem, TemplateRenderError } from '../templates/locate';
import { fitDiscordMessage } from '../templates/fit-discord';
import { fitSlackMessage } from '../templates/fit-slack';
import type { RenderTarget } from '../templates/render-target';

/** Sample alerts shipped with the package (real, hostile, long) that `check` renders every template against. */
export const SAMPLE_ALERTS_DIR = path.resolve(__dirname, '..', '..', 'examples', 'alerts');

const TARGETS: RenderTarget[] = ['slack', 'discord', 'console'];
const platformOf = (type: string): RenderTarget => (type === 'slack' ? 'slack' : type === 'console' ? 'console' : 'discord');

function sampleAlerts() {
  return readdirSync(SAMPLE_ALERTS_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .flatMap((file) => alertsOf(JSON.parse(readFileSync(path.join(SAMPLE_ALERTS_DIR, file), 'utf8'))).map((alert) => ({ file, alert })));
}

/**
 * Everything `check` reports about templates: compile errors and calls to helpers or partials that do not exist,
 * templates named by routes or destinations that do not exist, every raw `{{{…}}}` output, and — by rendering
 * every template on every platform against the shipped sample alerts — render failures (errors) and what fitting
 * had to cut (warnings). Whatever has a place in a template file starts with `file:line:column: `.
 */
export function templateProblems(config: Config): { errors: string[]; warnings: string[] } {
  const engine = new TemplateEngine(config.templates.dir);
  const errors = [...engine.problems, ...engine.undefinedNames].map(formatTemplateProblem);
  const warnings: string[] = engine.rawUses.map(
    (use) => `${use.file}:${use.line}:${use.column}: raw output {{{…}}} is not escaped for the platform (alert text could ping or spoof links)`,
  );
  for (const [name, destination] of Object.entries(config.destinations)) {
    const target = platformOf(destination.type);
    const wanted = [destination.template, ...config.routes.filter((r) => r.to.includes(name)).map((r) => r.template)];
    for (const template of wanted) {
      if (template && !engine.has(template, target)) {
        warnings.push(`template "${template}" has no ${target} variant (${config.templates.dir}/${template}.${target}.hbs); destination ${name} will use "default"`);
      }
    }
  }
  const samples = sampleAlerts();
  for (const target of TARGETS) {
    for (const template of engine.names(target)) {
      for (const { file, alert } of samples) {
        const view = buildView(alert, { route: 'check', deliveryKey: 'check' }, 'check');
        try {
          const value = engine.renderStrict(template, target, view);
          const fitted = target === 'slack' ? fitSlackMessage({ ...value, channel: 'C0000000000' }) : target === 'discord' ? fitDiscordMessage(value, { allowInteractive: true }) : null;
          // Truncating long alert text is the fitter doing its job; dropped buttons, fields or blocks mean the
          // template builds something the platform would refuse, which its author should hear about.
          for (const warning of fitted?.warnings ?? []) {
            if (!/truncated/.test(warning)) warnings.push(`template "${template}" (${target}) on sample ${file}: ${warning}`);
          }
        } catch (error) {
          const at = error instanceof TemplateRenderError ? `${error.file}:${error.line}:${error.column}: ` : '';
          errors.push(`${at}template "${template}" (${target}) fails on sample ${file}: ${(error as Error).message}`);
        }
      }
    }
  }
  return { errors, warnings: [...new Set(warnings)] };
}
