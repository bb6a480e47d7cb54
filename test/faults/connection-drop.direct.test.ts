import { connectionDropSuite } from "./suites/connection-drop.ts";

connectionDropSuite("direct");
