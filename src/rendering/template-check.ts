import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/schema';
import { buildView } from '../destinations/view';
import { alertsOf } from '../sources/detect';
import { TemplateEngine } from '../templates/engine';
import { formatTemplateProblem, TemplateRenderError, type TemplateProblem } from '../templates/locate';
import { fitDiscordMessage } from '../templates/fit-discord';
import { layOutDiscordV2 } from '../templates/discord-v2-layout';
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
      // A variant that exists but does not compile is reported as such above, not as missing.
      if (template && !engine.has(template, target) && !failedToCompile(engine.problems, template, target)) {
        warnings.push(`template "${template}" has no ${target} variant (${config.templates.dir}/${template}.${target}.hbs); destination ${name} will use "default"`);
      }
    }
  }
  const samples = sampleAlerts();
  // A Discord template also renders as Components V2 where a destination says so: what that layout must leave out
  // (past 40 components) is the template's business too.
  const v2 = Object.values(config.destinations).some((d) => (d.type === 'discord' || d.type === 'discord-webhook') && d.layout === 'v2');
  // One line per template and place that fails, not the same line once per sample: the message is the first
  // sample's (it quotes that sample's text), and the line counts the other samples failing at the same place.
  const failures = new Map<string, { message: string; files: Set<string> }>();
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
          if (v2 && target === 'discord' && fitted) {
            for (const warning of layOutDiscordV2(fitted.body, { allowInteractive: true }).warnings) {
              if (!/truncated/.test(warning)) warnings.push(`template "${template}" (discord, layout v2) on sample ${file}: ${warning}`);
            }
          }
        } catch (error) {
          const at = error instanceof TemplateRenderError ? `${error.file}:${error.line}:${error.column}: ` : '';
          const place = `${at}template "${template}" (${target})`;
          const failure = failures.get(place) ?? { message: `fails on sample ${file}`.concat(': ', (error as Error).message), files: new Set<string>() };
          failure.files.add(file);
          failures.set(place, failure);
        }
      }
    }
  }
  for (const [place, { message, files }] of failures) {
    const others = files.size - 1;
    errors.push(`${place} ${message}${others > 0 ? ` (${others} more sample${others === 1 ? '' : 's'} fail${others === 1 ? 's' : ''} here too)` : ''}`);
  }
  return { errors, warnings: [...new Set(warnings)] };
}

/** True when the template's file for `target` is among the ones that did not compile. */
function failedToCompile(problems: readonly TemplateProblem[], template: string, target: string): boolean {
  return problems.some((p) => p.file.endsWith(`/${template}.${target}.hbs`) || p.file.endsWith(`/${template}/${target}.hbs`) || p.file === `${template}.${target}.hbs`);
}
