// Go's os.Expand with restic's variable lookup, applied to each line of an exclude file: `$VAR`
// and `${VAR}` become the variable's value (empty when unset), and `$$` becomes `$`.

const shellSpecial = /^[*#$@!?\-0-9]$/;
const nameChar = /[A-Za-z0-9_]/;

/** The variable name after a `$` at s[i-1] and how many characters it takes; '' with 0 for none. */
function shellName(s: string, i: number): [name: string, width: number] {
  if (s[i] === '{') {
    if (i + 2 < s.length && shellSpecial.test(s[i + 1]!) && s[i + 2] === '}') return [s[i + 1]!, 3];
    const close = s.indexOf('}', i + 1);
    // `${}` and an unclosed `${` are bad syntax: Go drops them.
    if (close === i + 1) return ['', 2];
    if (close < 0) return ['', 1];
    return [s.slice(i + 1, close), close - i + 1];
  }
  if (shellSpecial.test(s[i]!)) return [s[i]!, 1];
  let end = i;
  while (end < s.length && nameChar.test(s[end]!)) end++;
  return [s.slice(i, end), end - i];
}

/**
 * The line with environment variables expanded as restic expands exclude-file lines: Go's
 * os.Expand, where a `$` followed by nothing usable stays, and `$$` is a literal `$`.
 */
export function expandEnv(line: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!line.includes('$')) return line;
  let out = '';
  let i = 0;
  while (i < line.length) {
    const dollar = line.indexOf('$', i);
    if (dollar < 0 || dollar + 1 >= line.length) break;
    out += line.slice(i, dollar);
    const [name, width] = shellName(line, dollar + 1);
    if (name !== '') out += name === '$' ? '$' : (env[name] ?? '');
    else if (width === 0) out += '$';
    i = dollar + 1 + width;
  }
  return out + line.slice(i);
}
