import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as der from './der.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('DER encoding', () => {
  const cases: [string, Buffer, string][] = [
    ['short length', der.octetString(Buffer.alloc(3, 0xaa)), '0403aaaaaa'],
    ['long length (0x81)', der.octetString(Buffer.alloc(200)), '0481c8' + '00'.repeat(200)],
    ['long length (0x82)', der.octetString(Buffer.alloc(300)).subarray(0, 4), '0482012c'],
    ['OID commonName', der.oid('2.5.4.3'), '0603550403'],
    ['OID ecdsa-with-SHA256 (multi-byte arcs)', der.oid('1.2.840.10045.4.3.2'), '06082a8648ce3d040302'],
    ['INTEGER high bit gets a 00 pad', der.unsignedInteger(Buffer.from([0x80, 0x01])), '0203008001'],
    ['INTEGER leading zeros are stripped', der.unsignedInteger(Buffer.from([0x00, 0x00, 0x7f])), '02017f'],
    ['INTEGER zero', der.unsignedInteger(Buffer.from([0, 0])), '020100'],
    ['UTCTime through 2049', der.x509Time(Date.UTC(2049, 11, 31, 23, 59, 59)), '170d' + Buffer.from('491231235959Z').toString('hex')],
    ['GeneralizedTime from 2050', der.x509Time(Date.UTC(2050, 0, 1)), '180f' + Buffer.from('20500101000000Z').toString('hex')],
    ['BOOLEAN true', der.boolean(true), '0101ff'],
    ['BIT STRING with unused bits', der.bitString(Buffer.from([0x80]), 7), '03020780'],
  ];
  for (const [name, encoded, expected] of cases) it(name, () => assert.equal(hex(encoded), expected));
});
