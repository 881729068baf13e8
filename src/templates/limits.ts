/**
 * Platform limits the fitters and validators enforce. Source of truth: shared/reference/platform-limits.md
 * (A1 for Slack, B1 for Discord). All lengths are compared with UTF-16 `.length`, which is never smaller than
 * the code-point count Discord uses, so staying under them satisfies every counting scheme the platforms use.
 */

/** Slack Block Kit / chat.postMessage limits (reference A1, PART C.2). */
export const SLACK_LIMITS = Object.freeze({
  /** Blocks per message (modals/Home allow 100; messages 50). */
  blocks: 50,
  /** Section block `text` (and any generic text object): 1..3000. */
  sectionText: 3000,
  /** Section block `fields` count. */
  sectionFields: 10,
  /** Each section field's text. */
  sectionFieldText: 2000,
  /** Header block text (plain_text only). */
  headerText: 150,
  /** Context block elements. */
  contextElements: 10,
  /** Actions block elements. */
  actionsElements: 25,
  /** Button text (plain_text only). */
  buttonText: 75,
  /** Button `url`. */
  buttonUrl: 3000,
  /** Button `value`. */
  buttonValue: 2000,
  /** Button `accessibility_label`. */
  buttonAccessibilityLabel: 75,
  /** `action_id` (unique within its block). */
  actionId: 255,
  /** `block_id`. */
  blockId: 255,
  /** Image `alt_text` / image block `title`. */
  imageAltText: 2000,
  /** Top-level `text`: Slack only advises 4000 (hard cut at 40k); we treat 4000 as hard. */
  topLevelText: 4000,
  /**
   * Total text across all blocks. Slack rejects with msg_blocks_too_long around 12k (undocumented, [3P]);
   * 11000 leaves room for the unknown container overhead.
   */
  totalBlockText: 11000,
  /** Legacy attachments per message. */
  attachments: 100,
});

/** Discord create-message limits (reference B1, PART C.3). */
export const DISCORD_LIMITS = Object.freeze({
  /** Message `content`. */
  content: 2000,
  /** Embeds per message. */
  embeds: 10,
  embedTitle: 256,
  embedDescription: 4096,
  /** Fields per embed. */
  embedFields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footerText: 2048,
  authorName: 256,
  /** Sum of title+description+field names/values+footer.text+author.name over ALL embeds. */
  embedTotal: 6000,
  /** Top-level action rows (legacy components, no IS_COMPONENTS_V2). */
  actionRows: 5,
  /** Buttons per action row. */
  buttonsPerRow: 5,
  buttonLabel: 80,
  /** Link button `url`. */
  linkUrl: 512,
  /** Non-link button `custom_id` (min 1). */
  customId: 100,
  /** String select: options (1..25), option label / value / description, placeholder. */
  selectOptions: 25,
  selectOptionLabel: 100,
  selectOptionValue: 100,
  selectPlaceholder: 150,
  /** allowed_mentions.users / .roles entries each. */
  allowedMentionIds: 100,
  /** Largest valid embed colour (0xFFFFFF). */
  maxColor: 0xffffff,
});

/**
 * Components V2 message limits (reference next-features.md "Discord Components V2"). discord.js builders check only
 * each text display's length, so the fitter enforces the message-wide totals itself.
 */
export const DISCORD_V2_LIMITS = Object.freeze({
  /** Components in the whole message, nested ones (section children, accessories, buttons) included. */
  components: 40,
  /** Characters across every text display of the message (PR discord-api-docs#8562; not yet in the docs). */
  textDisplayTotal: 4000,
  /** One text display's `content`: 1..4000. */
  textDisplay: 4000,
  /** Text displays in one section: 1..3, beside exactly one accessory. */
  sectionTexts: 3,
  /** Items in a media gallery: 1..10. */
  galleryItems: 10,
  /** Thumbnail / media item `description` (alt text). */
  mediaDescription: 1024,
});

export type SlackLimits = typeof SLACK_LIMITS;
export type DiscordLimits = typeof DISCORD_LIMITS;
