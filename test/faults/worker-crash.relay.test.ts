import { workerCrashSuite } from "./suites/worker-crash.ts";

workerCrashSuite("relay");
