import { generate } from "selfsigned";

/**
 * A TLS certificate for serving the local gateway over HTTPS/WSS, made at start: a private
 * certificate authority that exists for this run only, and a server certificate it signs for
 * this machine's loopback names. Clients trust it the way anyone trusts a private CA: Node
 * reads the CA file named by NODE_EXTRA_CA_CERTS when the process starts, so the handlers
 * connect to `https://127.0.0.1` with no option of their own.
 */
export interface LocalCertificate {
  /** The server's private key (PEM). */
  key: string;
  /** The server's certificate (PEM), signed by `ca`. */
  cert: string;
  /** The authority's certificate (PEM): what clients trust (NODE_EXTRA_CA_CERTS). */
  ca: string;
}

// Like API Gateway's certificates (RSA 2048, SHA-256 signatures), so that a handshake costs
// the client what it costs on AWS. A run is short; a certificate outliving it is not useful.
const KEY = { keyType: "rsa", keySize: 2048, algorithm: "sha256" } as const;
const VALID_MS = 2 * 24 * 60 * 60 * 1000;

export async function localCertificate(
  hosts: readonly string[] = ["127.0.0.1", "localhost", "::1"],
): Promise<LocalCertificate> {
  // Tolerates a clock a little behind this one.
  const notBeforeDate = new Date(Date.now() - 60 * 60 * 1000);
  const notAfterDate = new Date(notBeforeDate.getTime() + VALID_MS);
  const authority = await generate(
    [{ name: "commonName", value: "websocket-chat local CA (this run only)" }],
    {
      ...KEY,
      notBeforeDate,
      notAfterDate,
      extensions: [
        { name: "basicConstraints", cA: true, pathLenConstraint: 0, critical: true },
        { name: "keyUsage", keyCertSign: true, cRLSign: true, critical: true },
      ],
    },
  );
  const server = await generate([{ name: "commonName", value: hosts[0] }], {
    ...KEY,
    notBeforeDate,
    notAfterDate,
    ca: { key: authority.private, cert: authority.cert },
    extensions: [
      { name: "basicConstraints", cA: false, critical: true },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: hosts.map((host) =>
          /^[\d.]+$|:/.test(host) ? { type: 7, ip: host } : { type: 2, value: host },
        ),
      },
    ],
  });
  return { key: server.private, cert: server.cert, ca: authority.cert };
}
