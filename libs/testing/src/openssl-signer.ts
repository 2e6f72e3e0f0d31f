// Test-only: signs a PKCS#10 request with the real openssl the way cert-manager's CA issuer does: the
// subject and SANs from the request (`-copy_extensions copy`), key usages and extended key usages from
// the CertificateRequest's spec.usages, CA:FALSE, and the authority key identifier of the CA.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// cert-manager's usage names (spec.usages) and what openssl calls them.
const keyUsages: Record<string, string> = { 'digital signature': 'digitalSignature', 'key encipherment': 'keyEncipherment', 'cert sign': 'keyCertSign', 'crl sign': 'cRLSign' };
const extendedKeyUsages: Record<string, string> = { 'server auth': 'serverAuth', 'client auth': 'clientAuth' };

/** The PEM certificate for `csrPem`, signed by `ca`, valid for a day from now. */
export function opensslSignCsr(csrPem: string, ca: { certificatePem: string; privateKeyPem: string }, usages: readonly string[]): string {
  const unknown = usages.filter((u) => !keyUsages[u] && !extendedKeyUsages[u]);
  if (unknown.length) throw new Error(`opensslSignCsr: unknown usages ${unknown.join(', ')}`);
  const ku = usages.flatMap((u) => keyUsages[u] ?? []);
  const eku = usages.flatMap((u) => extendedKeyUsages[u] ?? []);
  const dir = mkdtempSync(join(tmpdir(), 'osm-test-signer-'));
  try {
    const path = (name: string, content: string): string => {
      writeFileSync(join(dir, name), content);
      return join(dir, name);
    };
    const csr = path('req.csr', csrPem);
    execFileSync('openssl', ['req', '-verify', '-noout', '-in', csr], { stdio: 'pipe' });
    const extensions = path(
      'ext.cnf',
      ['[leaf]', 'basicConstraints = critical, CA:FALSE', 'authorityKeyIdentifier = keyid', ...(ku.length ? [`keyUsage = critical, ${ku.join(', ')}`] : []), ...(eku.length ? [`extendedKeyUsage = ${eku.join(', ')}`] : []), ''].join('\n'),
    );
    return execFileSync(
      'openssl',
      [
        'x509', '-req', '-in', csr,
        '-CA', path('ca.crt', ca.certificatePem), '-CAkey', path('ca.key', ca.privateKeyPem),
        '-days', '1', '-copy_extensions', 'copy', '-extfile', extensions, '-extensions', 'leaf',
        '-set_serial', `0x${randomBytes(16).toString('hex')}`,
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
