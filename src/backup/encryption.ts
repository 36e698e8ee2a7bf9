/**
 * Which age identities open an encrypted backup, decided from its manifest before anything is read: the
 * one rule for restore, verify and drill. The manifest names the recipients (public keys) the archive was
 * encrypted to; a configured identity whose recipient is not among them cannot open it.
 */
import type { AgeIdentity } from '../lib/age.js';
import { UsageError } from '../lib/errors.js';
import type { Manifest } from './manifest.js';

export interface EncryptedBackup {
  name: string;
  /** The archive is `<name>.sql.gz.age`. */
  encrypted: boolean;
  manifest: Manifest | undefined;
}

/**
 * The identities to decrypt `backup` with, or undefined when it is in clear (or, with `withoutIdentity:
 * 'skip'`, when none is configured). Refuses (UsageError, exit 2, naming the manifest's recipients) when it
 * is encrypted and no identity is configured (unless skipped), or when none of the configured identities
 * belongs to a recipient of the manifest.
 */
export async function decryptionKeys(
  backup: EncryptedBackup,
  identities: readonly AgeIdentity[],
  withoutIdentity: 'refuse' | 'skip' = 'refuse',
): Promise<readonly AgeIdentity[] | undefined> {
  if (!backup.encrypted) return undefined;
  const recipients = backup.manifest?.encryption?.recipients ?? [];
  const madeFor =
    recipients.length > 0
      ? `it was encrypted to ${recipients.join(', ')}`
      : 'it has no manifest, so its recipients are unknown';
  if (identities.length === 0) {
    if (withoutIdentity === 'skip') return undefined;
    throw new UsageError(
      `Backup "${backup.name}" is encrypted with age and no identity is configured: ${madeFor}. ` +
        'Set AGE_IDENTITY_FILE (or AGE_IDENTITY) to the key file of one of them. Nothing was changed.',
    );
  }
  if (recipients.length === 0) return identities;
  const ours = await Promise.all(identities.map((identity) => identity.recipient()));
  if (!ours.some((recipient) => recipients.includes(recipient)))
    throw new UsageError(
      `None of the configured age identities can decrypt backup "${backup.name}": ${madeFor}, ` +
        `but AGE_IDENTITY holds the key${ours.length > 1 ? 's' : ''} of ${ours.join(', ')}. ` +
        'Configure the identity of one of its recipients. Nothing was changed.',
    );
  return identities;
}
