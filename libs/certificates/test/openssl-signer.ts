// Test-only: a small test signer that signs PKCS#10 requests with the real openssl, standing in for
// cert-manager's CA issuer. `openssl x509 -req -copy_extensions copy` keeps the requested SANs.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function opensslSignCsr(csrPem: string, ca: { certificatePem: string; privateKeyPem: string }): string {
  const dir = mkdtempSync(join(tmpdir(), 'osm-test-signer-'));
  try {
    const path = (name: string, content: string): string => {
      writeFileSync(join(dir, name), content);
      return join(dir, name);
    };
    const csr = path('req.csr', csrPem);
    execFileSync('openssl', ['req', '-verify', '-noout', '-in', csr], { stdio: 'pipe' });
    return execFileSync(
      'openssl',
      ['x509', '-req', '-in', csr, '-CA', path('ca.crt', ca.certificatePem), '-CAkey', path('ca.key', ca.privateKeyPem), '-days', '1', '-copy_extensions', 'copy', '-set_serial', `0x${randomBytes(16).toString('hex')}`],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
