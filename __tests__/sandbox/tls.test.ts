import { describe, expect, test } from '@jest/globals';
import { X509Certificate } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { derUnsignedInteger, generateTls } from '@veloz/sandbox/tls';

describe('sandbox certificate', () => {
  test('INTEGERs are minimal DER whatever the leading bytes (OpenSSL refuses padding)', () => {
    const hex = (bytes: number[]): string => derUnsignedInteger(Buffer.from(bytes)).toString('hex');
    expect(hex([0x00, 0x00, 0x12, 0x34])).toBe('02021234');
    expect(hex([0x00, 0x85])).toBe('02020085'); // the zero stays: it keeps the value positive
    expect(hex([0x00, 0x00, 0x85])).toBe('02020085');
    expect(hex([0x85, 0x01])).toBe('0203008501');
    expect(hex([0x02])).toBe('020102');
    expect(hex([0x00])).toBe('020100');
  });

  test('every generated certificate loads into a TLS context and names 127.0.0.1', () => {
    // A random 16-byte serial starts with 0x00 then < 0x80 once in 512 draws; 1500 draws make
    // the old encoder fail this test with probability above 0.95.
    for (let i = 0; i < 1500; i++) {
      const { key, cert, caData } = generateTls();
      expect(() => createSecureContext({ key, cert })).not.toThrow();
      const x509 = new X509Certificate(cert);
      expect(x509.checkIP('127.0.0.1')).toBe('127.0.0.1');
      expect(x509.ca).toBe(true);
      expect(Buffer.from(caData, 'base64').toString()).toBe(cert);
    }
  });
});
