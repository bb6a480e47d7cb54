// The two files of rate-limiter-flexible the API uses, imported by path: its index loads every
// store it has (Redis, Mongo, DynamoDB, …), 70 KB more in each API function's bundle.
declare module "rate-limiter-flexible/lib/RateLimiterPostgres.js" {
  import type { RateLimiterPostgres } from "rate-limiter-flexible";

  const Store: typeof RateLimiterPostgres;
  export default Store;
}
declare module "rate-limiter-flexible/lib/RateLimiterRes.js" {
  import type { RateLimiterRes } from "rate-limiter-flexible";

  const Res: typeof RateLimiterRes;
  export default Res;
}
