import { z } from 'zod';
import { configSchema } from './schema';

/**
 * JSON Schema (draft 2020-12) of the config file, generated from the zod schema so the two cannot drift: editors
 * (YAML language server) complete and validate `chatops-bridge.yaml` with it. Input side: what a user writes.
 */
export function configJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  return { ...schema, title: 'chatops-bridge configuration' };
}
