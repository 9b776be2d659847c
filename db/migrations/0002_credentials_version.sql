ALTER TABLE "users" ADD COLUMN "credentials_version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
-- Existing sessions were issued for today's credentials: they record version 1, like every
-- user, and stay valid. The default exists only to fill them; new rows always name a version.
ALTER TABLE "sessions" ADD COLUMN "credentials_version" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "sessions" ALTER COLUMN "credentials_version" DROP DEFAULT;--> statement-breakpoint
-- Unconfirmed accounts can no longer sign in (issue 8, point 2): the sessions they hold from
-- before that rule must not outlive it.
DELETE FROM "sessions" WHERE "user_id" IN (SELECT "id" FROM "users" WHERE "email_verified_at" IS NULL);
