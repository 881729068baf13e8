/**
 * Compiles a detection-id glob (`*` any run of characters, `?` one character, everything else literal) into an
 * anchored, case-sensitive RegExp. Detection ids are dotted (`AWS.CloudTrail.RootLogin`), so `.` is literal.
 */
export function globToRegExp(glob: string): RegExp {
  let source = '';
  for (const ch of glob) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}
