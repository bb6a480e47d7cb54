// The private network and the database every part of switchyard shares.

export const vpc = new sst.aws.Vpc("Vpc", {
  // `sst tunnel` (and its tab in `sst dev`) reaches the private database through the bastion.
  bastion: true,
  // One EC2 NAT instance instead of managed gateways: the functions only need outbound HTTPS to Hatchet.
  nat: "ec2",
});

export const db = new sst.aws.Postgres("Database", {
  vpc,
  // Lambdas open a connection per instance; the proxy pools them in front of a small instance.
  proxy: true,
  // `sst dev` links to the local Postgres (`npm run dev` uses the same server) instead of deploying one.
  dev: {
    host: "127.0.0.1",
    port: 5432,
    username: "postgres",
    password: "postgres",
    database: "switchyard",
  },
});

// The proxy presents an ACM certificate Node already trusts, so TLS can be verified in full;
// the local dev server has no TLS.
const tls = $dev ? "" : "?sslmode=verify-full";

/** DATABASE_URL as the code reads it, built from the database's link properties. */
export const databaseUrl = $interpolate`postgresql://${db.username}:${db.password.apply(encodeURIComponent)}@${db.host}:${db.port}/${db.database}${tls}`;

/**
 * DATABASE_URL for the relay, straight to the instance: it holds a LISTEN session (the dispatcher's
 * wake-up), which a multiplexing proxy cannot keep, and as one long-lived service with a bounded
 * pool it gains nothing from the proxy. The instance's certificate is signed by the RDS CA, which
 * Node does not ship, so the connection is encrypted without verification; it never leaves the VPC.
 */
export const relayDatabaseUrl = $dev
  ? databaseUrl
  : $interpolate`postgresql://${db.username}:${db.password.apply(encodeURIComponent)}@${
      db.nodes.instance?.address ?? db.host
    }:${db.port}/${db.database}?sslmode=no-verify`;
