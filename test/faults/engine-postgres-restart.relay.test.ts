import { enginePostgresRestartSuite } from "./suites/engine-postgres-restart.ts";

enginePostgresRestartSuite("relay");
