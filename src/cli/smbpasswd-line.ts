/**
 * `witnessctl smbpasswd-line USER`: an smbpasswd line for auth.accountsFile without a Samba
 * server (what `pdbedit -Lw` prints for that user): the password is asked twice on the
 * terminal without echo, or read from the first line of stdin, and never appears on a command
 * line. Only the NT hash is written; the LM hash field is left unset (X), as Samba writes it
 * with `lanman auth = no`.
 */
import { ntHash } from '../auth/ntlm-crypto';

/** The line: NAME:UID:LMHASH:NTHASH:[U          ]:LCT-SECONDS: (UID is informational here). */
export function smbpasswdLine(user: string, password: string, uid = 0, now = Date.now()): string {
  if (user === '' || /[:\r\n]/.test(user)) throw new Error('a user name is not empty and has no ":" or line break');
  const lct = Math.floor(now / 1000).toString(16).toUpperCase().padStart(8, '0');
  return `${user}:${uid}:${'X'.repeat(32)}:${ntHash(password).toString('hex').toUpperCase()}:[U          ]:LCT-${lct}:`;
}

/** A secret from the terminal without echo (asked twice, must match), or the first line of a piped stdin. */
export async function readSecret(prompt: string, input: NodeJS.ReadStream = process.stdin, output: NodeJS.WriteStream = process.stderr): Promise<string> {
  if (!input.isTTY) {
    let text = '';
    for await (const chunk of input) {
      text += String(chunk);
      if (text.includes('\n')) break;
    }
    return text.split(/\r?\n/)[0];
  }
  const once = (p: string) => new Promise<string>((resolve, reject) => {
    output.write(p);
    let s = '';
    input.setRawMode(true);
    input.resume();
    const onData = (d: Buffer) => {
      for (const ch of d.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done(undefined);
        if (ch === '\u0003') return done(new Error('cancelled'));
        if (ch === '\u007f' || ch === '\b') s = s.slice(0, -1);
        else s += ch;
      }
    };
    const done = (err: Error | undefined) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
      if (err) reject(err);
      else resolve(s);
    };
    input.on('data', onData);
  });
  const a = await once(prompt);
  const b = await once('Again: ');
  if (a !== b) throw new Error('the two passwords differ');
  return a;
}
