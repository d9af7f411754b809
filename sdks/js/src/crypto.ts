/**
 * Web Crypto, as browsers and Node 19+ expose it globally. Node 18 keeps it behind a flag, so there it
 * is read from `node:crypto` (the specifier is a variable so that browser bundlers leave it alone).
 */
let cached: Promise<Crypto> | undefined;

export function webCrypto(): Promise<Crypto> {
  if (cached === undefined) {
    const global = globalThis.crypto;
    if (global?.subtle !== undefined) {
      cached = Promise.resolve(global);
    } else {
      const nodeCrypto = "node:crypto";
      cached = import(nodeCrypto).then((module: { webcrypto: Crypto }) => module.webcrypto);
    }
  }
  return cached;
}

export async function randomUuid(): Promise<string> {
  return (await webCrypto()).randomUUID();
}

const encoder = new TextEncoder();

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

export function base64ToBytes(base64: string): Uint8Array {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** HMAC-SHA256 verification by Web Crypto, which compares in constant time. */
export async function hmacSha256Verify(key: Uint8Array, signature: Uint8Array, data: Uint8Array): Promise<boolean> {
  const subtle = (await webCrypto()).subtle;
  const cryptoKey = await subtle.importKey("raw", new Uint8Array(key), { name: "HMAC", hash: "SHA-256" }, false, [
    "verify",
  ]);
  return subtle.verify("HMAC", cryptoKey, new Uint8Array(signature), new Uint8Array(data));
}
