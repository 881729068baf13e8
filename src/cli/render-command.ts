import { existsSync, readFileSync, statSync } from 'node:fs';
import type { Config } from '../config/schema';
import { renderPayload, type RenderOutcome } from '../rendering/render-alert';

/**
 * `render`: reads the payload file and hands it to the rendering service. `template` is a templates directory to
 * preview (when such a directory exists) or the name of a template to force for every destination.
 */
export function renderPayloadFile(config: Config, payloadFile: string, onlyDestination?: string, template?: string): RenderOutcome {
  const templateDir = template !== undefined && existsSync(template) && statSync(template).isDirectory() ? template : undefined;
  const templateName = template !== undefined && templateDir === undefined ? template : undefined;
  if (templateDir) config = { ...config, templates: { ...config.templates, dir: templateDir } };
  let body: unknown;
  try {
    body = JSON.parse(readFileSync(payloadFile, 'utf8'));
  } catch (error) {
    return { ok: false, error: 'invalid_payload', issues: [{ path: '(body)', message: `not valid JSON: ${(error as Error).message}` }] };
  }
  return renderPayload(config, body, onlyDestination, templateName);
}
