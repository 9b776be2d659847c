CREATE TABLE "audit_daily_counts" (
	"day" date NOT NULL,
	"event" text NOT NULL,
	"count" integer NOT NULL,
	CONSTRAINT "audit_daily_counts_day_event_pk" PRIMARY KEY("day","event")
);
