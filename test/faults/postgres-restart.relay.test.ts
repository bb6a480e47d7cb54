import { postgresRestartSuite } from "./suites/postgres-restart.ts";

postgresRestartSuite("relay");
