import { executionSuite } from "./suite.ts";

executionSuite("relay");
