import { existsSync, statSync } from 'node:fs';
import type { Config } from '../config/schema';
import { renderPayload, type RenderOutcome } from '../rendering/render-alert';
import { readPayloadFile } from './payload-file';

/**
 * `render`: reads the payload file and hands it to the rendering service. `template` is a templates directory to
 * preview (when such a directory exists) or the name of a template to force for every destination. A file that
 * cannot be read at all is `unreadable` (a message for stderr); text that is not JSON is an invalid payload, as the
 * webhook would answer it.
 */
export function renderPayloadFile(config: Config, payloadFile: string, onlyDestination?: string, template?: string): RenderOutcome | { ok: false; unreadable: string } {
  const templateDir = template !== undefined && existsSync(template) && statSync(template).isDirectory() ? template : undefined;
  const templateName = template !== undefined && templateDir === undefined ? template : undefined;
  if (templateDir) config = { ...config, templates: { ...config.templates, dir: templateDir } };
  const file = readPayloadFile(payloadFile);
  if (!file.ok) {
    return file.kind === 'unreadable' ? { ok: false, unreadable: file.message } : { ok: false, error: 'invalid_payload', issues: [{ path: '(body)', message: file.message }] };
  }
  return renderPayload(config, file.body, onlyDestination, templateName);
}
