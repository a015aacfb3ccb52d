// Go's path/filepath.Clean for Unix paths: restic cleans exclude patterns and source paths with it,
// so we must clean the same way to split them into the same components.

/**
 * The shortest lexically equivalent path, as Go's filepath.Clean computes it on Unix. It only
 * looks at '/' and '.', so it works as well on byte strings held as 'latin1' JS strings.
 */
export function cleanPath(path: string): string {
  if (path === '') return '.';
  const rooted = path.charCodeAt(0) === 0x2f;
  const out: string[] = [];
  // How many leading `..` elements a relative path keeps: those cannot be removed.
  let fixedDotDots = 0;
  for (const element of path.split('/')) {
    if (element === '' || element === '.') continue;
    if (element === '..') {
      if (out.length > fixedDotDots) out.pop();
      else if (!rooted) {
        out.push('..');
        fixedDotDots++;
      }
      continue;
    }
    out.push(element);
  }
  const joined = out.join('/');
  if (rooted) return '/' + joined;
  return joined === '' ? '.' : joined;
}
