import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Sink secrets at rest. HMAC signing and API calls need the raw values, so they cannot be hashed.
 * With a server key (`SWITCHYARD_SECRET_KEY`) they are sealed with AES-256-GCM under a key derived
 * from it (HKDF-SHA-256); without one they are stored as given (`plain:`), which the docs say.
 * Either form is read back; a sealed value without the right key is an error that names the fix
 * and never the value.
 */

const INFO = 'switchyard sink secrets v1';

function derive(serverKey: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(serverKey, 'utf8'), Buffer.alloc(0), INFO, 32));
}

export class SecretBox {
  private readonly key: Buffer | null;

  constructor(serverKey: string | undefined) {
    this.key = serverKey ? derive(serverKey) : null;
  }

  get encrypting(): boolean {
    return this.key !== null;
  }

  seal(values: Record<string, string>): string {
    const json = JSON.stringify(values);
    if (!this.key) return `plain:${json}`;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(json, 'utf8'), cipher.final()]);
    return `aes256gcm:${iv.toString('base64')}:${cipher.getAuthTag().toString('base64')}:${body.toString('base64')}`;
  }

  open(sealed: string): Record<string, string> {
    if (sealed.startsWith('plain:')) return JSON.parse(sealed.slice(6)) as Record<string, string>;
    if (!sealed.startsWith('aes256gcm:')) throw new Error('the sink’s secrets are stored in an unknown format');
    if (!this.key) throw new Error('the sink’s secrets are encrypted but SWITCHYARD_SECRET_KEY is not set on this server');
    const [, iv, tag, body] = sealed.split(':');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      const json = Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
      return JSON.parse(json) as Record<string, string>;
    } catch {
      throw new Error('the sink’s secrets cannot be decrypted with this server’s SWITCHYARD_SECRET_KEY (was the key changed?)');
    }
  }
}
