// B4: ECDSA P-256 service certificates per second, key generation included; one at a time and 32 in flight.
// Also a naive @peculiar/x509 + WebCrypto loop on the same machine for comparison.
import { webcrypto } from 'node:crypto';
import { systemClock } from '@osm/clock';
import { generateRootCA, LocalCertificateAuthority, loadSigningCA, type IssueRequest } from '@osm/certificates';
import { percentile } from './stats.ts';
import type { Benchmark, BenchResult } from './types.ts';

const DAY = 86_400_000;

const median = (values: readonly number[]): number => {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] ?? 0) : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
};

const requestFor = (i: number): IssueRequest => ({ subject: { kind: 'service', serviceAccount: `sa-${i % 1000}`, namespace: `ns-${i % 37}` }, validityMs: DAY });

async function sequential(authority: LocalCertificateAuthority, count: number): Promise<{ perSecond: number; latencies: number[] }> {
  const latencies: number[] = [];
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await authority.issue(requestFor(i));
    latencies.push(performance.now() - t);
  }
  return { perSecond: count / ((performance.now() - start) / 1000), latencies };
}

async function concurrent(authority: LocalCertificateAuthority, count: number, inFlight: number): Promise<{ perSecond: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      const t = performance.now();
      await authority.issue(requestFor(i));
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return { perSecond: count / ((performance.now() - start) / 1000), latencies };
}

/** What BENCHMARKS.md calls a naive @peculiar/x509 loop: WebCrypto key generation and signing, ASN.1 object building. */
async function naivePeculiar(count: number): Promise<number> {
  // Loaded only here: @peculiar/x509 needs the reflect-metadata polyfill (a dependency of its own) at load.
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const caKeys = await webcrypto.subtle.generateKey(alg, false, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({ name: 'CN=bench-root', keys: caKeys, signingAlgorithm: alg, notBefore: new Date(), notAfter: new Date(Date.now() + DAY) });
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
    const cn = `sa-${i}.ns.cluster.local`;
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: webcrypto.getRandomValues(new Uint8Array(16)).reduce((s, b) => s + b.toString(16).padStart(2, '0'), '7'),
      subject: `CN=${cn}`,
      issuer: ca.subject,
      notBefore: new Date(),
      notAfter: new Date(Date.now() + DAY),
      signingAlgorithm: alg,
      publicKey: keys.publicKey,
      signingKey: caKeys.privateKey,
      extensions: [
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension([
          { type: 'dns', value: cn },
          { type: 'url', value: `spiffe://cluster.local/ns/ns/sa/sa-${i}` },
        ]),
      ],
    });
    const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
    void cert.toString('pem');
    void x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
  }
  return count / ((performance.now() - start) / 1000);
}

export const B4: Benchmark = {
  id: 'B4',
  description: 'ECDSA P-256 service certificates per second, key generation included (options: --count 5000 --rounds 5 --naive 300)',
  async run(options, progress): Promise<BenchResult[]> {
    const count = Number(options['count'] ?? 5000);
    const rounds = Number(options['rounds'] ?? 5);
    const naiveCount = Number(options['naive'] ?? 300);
    const root = await generateRootCA({ clock: systemClock });
    const loaded = loadSigningCA(root.certificatePem, root.privateKeyPem, Date.now());
    if (!loaded.ok) throw loaded.error;
    const authority = new LocalCertificateAuthority({ ca: loaded.value, trustDomain: 'cluster.local', clock: systemClock });
    await sequential(authority, 500); // warm-up

    const seq: number[] = [];
    const conc: number[] = [];
    const seqLat: number[][] = [];
    const concLat: number[][] = [];
    for (let r = 0; r < rounds; r++) {
      const s = await sequential(authority, count);
      const c = await concurrent(authority, count, 32);
      seq.push(s.perSecond);
      conc.push(c.perSecond);
      seqLat.push(s.latencies.sort((a, b) => a - b));
      concLat.push(c.latencies.sort((a, b) => a - b));
      progress(`round ${r + 1}/${rounds}: sequential ${s.perSecond.toFixed(0)}/s, 32 in flight ${c.perSecond.toFixed(0)}/s`);
    }
    const naive = naiveCount > 0 ? await naivePeculiar(naiveCount) : Number.NaN;
    if (naiveCount > 0) progress(`naive @peculiar/x509 loop: ${naive.toFixed(0)}/s (${naiveCount} certificates)`);
    return [
      { name: 'sequential_per_s', value: median(seq), unit: 'certs/s' },
      { name: 'concurrent32_per_s', value: median(conc), unit: 'certs/s' },
      { name: 'p50_ms', value: median(seqLat.map((l) => percentile(l, 50))), unit: 'ms' },
      { name: 'p99_ms', value: median(seqLat.map((l) => percentile(l, 99))), unit: 'ms' },
      { name: 'concurrent32_p50_ms', value: median(concLat.map((l) => percentile(l, 50))), unit: 'ms' },
      { name: 'concurrent32_p99_ms', value: median(concLat.map((l) => percentile(l, 99))), unit: 'ms' },
      ...(naiveCount > 0 ? [{ name: 'naive_peculiar_x509_per_s', value: naive, unit: 'certs/s' }] : []),
    ];
  },
};
