// Test fixtures: roots and authorities at a fixed time, with counting randomness.
import { generateKeyPairSync } from 'node:crypto';
import { LocalCertificateAuthority } from '../src/authority.ts';
import type { RandomSource } from '../src/keys.ts';
import { loadSigningCA } from '../src/parse.ts';
import { toPem } from '../src/pem.ts';
import { buildRootCertificate } from '../src/root.ts';
import type { SigningCA } from '../src/x509.ts';

export const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** Distinct, predictable serials: 16 bytes holding a counter. */
export function countingRandom(start = 1): RandomSource {
  let n = start;
  return {
    bytes(length: number): Uint8Array {
      const out = Buffer.alloc(length);
      out.writeUInt32BE(n++ >>> 0, length - 4);
      out[0] = 0x9c; // high bit set: exercises the positive-INTEGER padding
      return out;
    },
  };
}

export interface RootPem {
  certificatePem: string;
  privateKeyPem: string;
}

export async function makeRootPem(options: { now?: number; validityMs?: number; keyType?: 'ec' | 'rsa'; curve?: string; serial?: Uint8Array } = {}): Promise<RootPem> {
  const { privateKey } =
    options.keyType === 'rsa'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: options.curve ?? 'prime256v1' });
  const der = await buildRootCertificate({
    commonName: 'test-root',
    organization: 'osm-ts tests',
    privateKey,
    now: options.now ?? T0 - HOUR,
    validityMs: options.validityMs ?? 365 * DAY,
    serial: options.serial ?? Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex'),
  });
  return { certificatePem: toPem('CERTIFICATE', der), privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}

export async function makeSigningCA(root?: RootPem, now = T0): Promise<SigningCA> {
  root ??= await makeRootPem();
  const loaded = loadSigningCA(root.certificatePem, root.privateKeyPem, now);
  if (!loaded.ok) throw loaded.error;
  return loaded.value;
}

export async function makeAuthority(options: { root?: RootPem; now?: () => number; trustDomain?: string } = {}): Promise<{ authority: LocalCertificateAuthority; ca: SigningCA }> {
  const ca = await makeSigningCA(options.root);
  const authority = new LocalCertificateAuthority({
    ca,
    trustDomain: options.trustDomain ?? 'cluster.local',
    clock: { now: options.now ?? (() => T0) },
    random: countingRandom(),
  });
  return { authority, ca };
}


