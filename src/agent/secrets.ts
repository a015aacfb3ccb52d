// Passwords and URL secrets a run has seen, so that no log line, status file, hook environment or
// webhook body carries them; and repository locations as they may be shown.

import { isRestLocation, parseRestLocation } from '../backend/rest-url.js';

export class Secrets {
  private readonly values = new Set<string>();

  add(secret: string | null | undefined): void {
    // Very short strings would blank out ordinary words; such passwords are refused anyway.
    if (secret && secret.length >= 3) this.values.add(secret);
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.values) out = out.split(s).join('***');
    // A URL's user-info may be a secret this run never learned as such (a webhook's, a server's).
    return out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s"]*:[^/@\s"]*@/gi, '$1***@');
  }
}

/** A repository location without its secret, as logs, hooks and webhooks show it. */
export function displayLocation(location: string): string {
  if (!isRestLocation(location)) return location;
  try {
    return parseRestLocation(location).display;
  } catch {
    return location.replace(/\/\/[^/@]*@/, '//***@');
  }
}

/** The secrets a repository location carries (a REST password in the URL or the environment). */
export function locationSecret(location: string): string | null {
  if (!isRestLocation(location)) return null;
  try {
    return parseRestLocation(location).secret;
  } catch {
    return null;
  }
}
