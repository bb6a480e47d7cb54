import { lostAssignmentSuite } from "./suites/lost-assignment.ts";

lostAssignmentSuite("direct");
