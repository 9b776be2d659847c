ALTER TABLE "sessions" ADD COLUMN "password_checked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "password_reset_forced_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "retired_password_hash" text;