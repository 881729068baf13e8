/**
 * Removes secrets from text that may reach a log line, an error message or a stored failure reason: Slack
 * tokens, Discord bot tokens in Authorization headers, webhook URL tokens, and any configured secret value.
 */
export function redactSecrets(text: string, knownSecrets: readonly string[] = []): string {
  let out = text
    .replace(/xox[abposr]-[A-Za-z0-9-]+/g, 'xox?-[REDACTED]')
    .replace(/xapp-[A-Za-z0-9-]+/g, 'xapp-[REDACTED]')
    .replace(/(\/webhooks\/\d+\/)[A-Za-z0-9_-]+/g, '$1[REDACTED]')
    .replace(/(Bot|Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, '$1 [REDACTED]');
  for (const secret of knownSecrets) {
    if (secret && secret.length >= 6) out = out.split(secret).join('[REDACTED]');
  }
  return out;
}
