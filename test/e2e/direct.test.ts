import { executionSuite } from "./suite.ts";

executionSuite("direct");
