CREATE TABLE "dispatch_sweeps" (
	"host" text PRIMARY KEY NOT NULL,
	"swept_at" timestamp with time zone DEFAULT now() NOT NULL
);
