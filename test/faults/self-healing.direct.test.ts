import { selfHealingSuite } from "./suites/self-healing.ts";

selfHealingSuite("direct");
