import { chaosSuite } from "./suites/chaos.ts";

chaosSuite("direct");
