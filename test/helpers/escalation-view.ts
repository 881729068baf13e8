/**
 * What the Slack and Discord fakes saw of escalations, by alert title: each alert's first message and its latest
 * state (after edits), its reminders in the order they arrived and their steps. Read-only views over the fakes'
 * records, shared by the escalation end-to-end tests.
 */
import type { FakeSlack, SlackMessage } from './fake-slack';
import type { FakeDiscord, DiscordMessage } from './fake-discord';

export const slackText = (m: SlackMessage) => `${String(m.args.text)} ${JSON.stringify(m.args.blocks ?? [])}`;
export const discordText = (m: DiscordMessage) => `${String(m.body.content ?? '')} ${JSON.stringify(m.body.embeds ?? [])}`;

/** Whether a message (its latest state) shows `text` anywhere. */
export const shows = (message: Record<string, unknown> | undefined, text: string | RegExp) =>
  message !== undefined && (typeof text === 'string' ? JSON.stringify(message).includes(text) : text.test(JSON.stringify(message)));

/** The step of each reminder ("Reminder 2/3" → 2), in order. */
export const steps = (messages: (SlackMessage | DiscordMessage)[]) =>
  messages.map((m) => Number(/Reminder (\d+)\/\d+/.exec('args' in m ? String(m.args.text) : String(m.body.content))?.[1]));

export class EscalationView {
  constructor(
    private readonly slack: FakeSlack,
    private readonly discord: FakeDiscord,
  ) {}

  slackPosts = () => this.slack.messages.filter((m) => m.method === 'chat.postMessage');
  slackUpdates = () => this.slack.messages.filter((m) => m.method === 'chat.update');
  discordCreates = () => this.discord.messages.filter((m) => m.kind === 'create');
  discordEdits = () => this.discord.messages.filter((m) => m.kind === 'edit');

  /** The alert's first Slack posts (one per channel it went to) and its first Discord message. */
  slackAlerts = (title: string) => this.slackPosts().filter((m) => m.args.thread_ts === undefined && !String(m.args.text).includes('Reminder') && slackText(m).includes(title));
  slackAlert = (title: string) => this.slackAlerts(title)[0];
  discordAlert = (title: string) => this.discordCreates().find((m) => !String(m.body.content ?? '').includes('Reminder') && discordText(m).includes(title));

  /** Reminders about `title`, in the order the fakes received them. */
  slackReminders = (title: string) => this.slackPosts().filter((m) => String(m.args.text).includes('Reminder') && String(m.args.text).includes(title));
  discordReminders = (title: string) => this.discordCreates().filter((m) => String(m.body.content ?? '').includes('Reminder') && discordText(m).includes(title));

  /** The latest state of the alert's (first) messages, as the edits left them. */
  slackNow = (title: string) => {
    const post = this.slackAlert(title);
    return post ? this.slack.stored(post.channel, post.ts) : undefined;
  };
  discordNow = (title: string) => {
    const created = this.discordAlert(title);
    return created ? this.discord.stored(created.messageId) : undefined;
  };

  /** A check that every copy of the alert on both platforms shows `text` (an edit of the line reached them all). */
  allShow = (title: string, text: string | RegExp) => () =>
    this.slackAlerts(title).length > 0 && this.slackAlerts(title).every((p) => shows(this.slack.stored(p.channel, p.ts), text)) && shows(this.discordNow(title), text);

  /** Everything the fakes saw, shortened: for a timeout's message. */
  describe = () =>
    JSON.stringify({
      slack: this.slack.messages.map((m) => [m.method, m.channel, m.ts, String(m.args.text).slice(0, 120)]),
      discord: this.discord.messages.map((m) => [m.kind, m.channelId, String(m.body.content ?? '').slice(0, 120)]),
    });
}
