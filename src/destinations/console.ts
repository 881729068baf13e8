import { renderMessage } from './render-message';
import type { Writable } from 'node:stream';
import type { Alert } from '../domain/alert';
import type { TemplateEngine } from '../templates/engine';
import type { Destination, FormatContext, FormattedMessage, SendOutcome } from './types';

export type ConsoleBody = Record<string, unknown>;

/** Writes each rendered alert as one JSON line (stdout by default): dry runs, first runs, debugging. */
export class ConsoleDestination implements Destination<ConsoleBody> {
  readonly type = 'console';
  readonly pacingKey: string;
  /** Writing a line needs no pacing. */
  readonly pacing = { limit: Number.MAX_SAFE_INTEGER, windowMs: 1 };
  private sequence = 0;

  constructor(
    readonly name: string,
    private readonly settings: { template?: string },
    private readonly templates: TemplateEngine,
    private readonly out: Writable = process.stdout,
  ) {
    this.pacingKey = `console:${name}`;
  }

  format(alert: Alert, ctx: FormatContext): FormattedMessage<ConsoleBody> {
    const rendered = renderMessage(this.templates, 'console', alert, ctx, { name: this.name, ...this.settings });
    return { body: { destination: this.name, ...rendered.value }, warnings: rendered.warnings };
  }

  async send(body: ConsoleBody): Promise<SendOutcome> {
    const line = `${JSON.stringify(body)}\n`;
    const ok = await new Promise<boolean>((resolve) => this.out.write(line, (error) => resolve(!error)));
    return ok ? { kind: 'ok', ref: { line: String(++this.sequence) } } : { kind: 'retryable', reason: 'stdout_write_failed' };
  }
}
