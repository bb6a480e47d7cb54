import { engineRestartSuite } from "./suites/engine-restart.ts";

engineRestartSuite("relay");
