/**
 * The platform a render is for; decides how `{{value}}` is escaped. Its own module because the helpers, the
 * escape report, the sanitiser and the engine all need it and the helpers import the other two.
 */
export type RenderTarget = 'slack' | 'discord' | 'console';

/** Every render target, for lookups across platforms (is a template name known at all?). */
export const RENDER_TARGETS: readonly RenderTarget[] = ['slack', 'discord', 'console'];
