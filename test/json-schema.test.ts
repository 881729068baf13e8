import { readFileSync } from 'node:fs';
import path from 'node:path';
import { configJsonSchema } from '../src/config/json-schema';

describe('chatops-bridge.schema.json', () => {
  it('is in sync with the zod config schema (regenerate: chatops-bridge schema > chatops-bridge.schema.json)', () => {
    const committed = JSON.parse(readFileSync(path.join(__dirname, '..', 'chatops-bridge.schema.json'), 'utf8'));
    expect(committed).toEqual(configJsonSchema());
  });

  it('describes every top-level section and the destination types', () => {
    const schema = configJsonSchema() as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['server', 'sources', 'slack', 'discord', 'destinations', 'routes']));
    expect(JSON.stringify(schema.properties.destinations)).toContain('discord-webhook');
  });
});
