/** Locating a JSON mistake in template output: the scanner agrees with JSON.parse about what is valid. */
import fc from 'fast-check';
import { jsonErrorOffset, parseTemplateJson, TemplateOutputError } from '../src/templates/json-output';

describe('jsonErrorOffset', () => {
  it('finds no mistake in valid JSON, and one wherever JSON.parse refuses', () => {
    fc.assert(
      fc.property(fc.json(), fc.nat(), fc.string({ maxLength: 3 }), (json, at, junk) => {
        expect(jsonErrorOffset(json)).toBe(json.length);
        const broken = json.slice(0, at % (json.length + 1)) + junk + json.slice(at % (json.length + 1));
        let valid = true;
        try {
          JSON.parse(broken);
        } catch {
          valid = false;
        }
        if (valid) expect(jsonErrorOffset(broken)).toBe(broken.length);
        else expect(jsonErrorOffset(broken)).toBeLessThanOrEqual(broken.length);
      }),
      { numRuns: 2000 },
    );
  });

  it('points at the first character that cannot continue the JSON', () => {
    expect(jsonErrorOffset('{ "a": 1 "b": 2 }')).toBe(9);
    expect(jsonErrorOffset('{ "content": Suspicious }')).toBe(13);
    expect(jsonErrorOffset('{ "a": "x\ny" }')).toBe(9);
    expect(jsonErrorOffset('{ "a": ')).toBe(7);
  });
});

describe('parseTemplateJson', () => {
  it('gives the offset in the output as the template wrote it, trailing commas included', () => {
    const text = '{ "a": [1, 2,], "b": 1 "c": 2 }';
    let caught: unknown;
    try {
      parseTemplateJson(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TemplateOutputError);
    expect(text.slice((caught as TemplateOutputError).offset)).toBe('"c": 2 }');
  });

  it('drops the commas before a ] or } outside strings, and nothing inside them', () => {
    // Strings made of what the comma scan must see past: quotes, backslashes, commas, brackets.
    const unit = fc.constantFrom('"', '\\', ',', ']', '}', ' ', 'a', '\n', '[', '{', ', ]');
    const withTrailing = (v: unknown): string => {
      if (Array.isArray(v)) return `[${v.map(withTrailing).join(',')}${v.length > 0 ? ' ,\n ' : ''}]`;
      if (v !== null && typeof v === 'object') {
        const members = Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${withTrailing(x)}`);
        return `{${members.join(',')}${members.length > 0 ? ',' : ''}}`;
      }
      return JSON.stringify(v);
    };
    fc.assert(
      fc.property(fc.jsonValue({ stringUnit: unit }), (value) => {
        const want: unknown = JSON.parse(JSON.stringify({ v: value })); // -0 is written 0
        expect(parseTemplateJson(`{"v": ${withTrailing(value)}}`)).toEqual(want);
        expect(parseTemplateJson(`{"v": ${JSON.stringify(value)}}`)).toEqual(want);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads a long output as it reads the same output short', () => {
    // Leading white space moves an output past the fast scan's length limit without changing what it means.
    const pad = ' '.repeat(262_144);
    const outcome = (text: string): unknown => {
      try {
        return { value: parseTemplateJson(text) };
      } catch (error) {
        // V8's own part of the message quotes the text around the mistake, which the padding changes.
        return { message: (error as Error).message.replace(/\): .*/s, ')'), offset: (error as TemplateOutputError).offset };
      }
    };
    const unit = fc.constantFrom('"', '\\', ',', ']', '}', ' ', '\n', '\u00a0', '[', '{', ', ]', ',}', ':', '1', 'a');
    fc.assert(
      fc.property(fc.array(unit, { maxLength: 40 }), (units) => {
        const text = `{"v": [${units.join('')}`;
        const short = outcome(text) as { value?: unknown; message?: string; offset?: number };
        const long = outcome(pad + text) as { value?: unknown; message?: string; offset?: number };
        if (short.value !== undefined) expect(long).toEqual(short);
        else expect(long).toEqual({ ...short, offset: short.offset! + pad.length });
      }),
      { numRuns: 300 },
    );
  });

  it('locates a mistake after an unterminated string at the end of the output', () => {
    const text = '{ "a": [1,], "b": "x\\\\\\", ]';
    expect(() => parseTemplateJson(text)).toThrow(/line 1 of the output/);
    let caught: TemplateOutputError | undefined;
    try {
      parseTemplateJson(text);
    } catch (error) {
      caught = error as TemplateOutputError;
    }
    expect(caught?.offset).toBe(text.length);
  });
});
