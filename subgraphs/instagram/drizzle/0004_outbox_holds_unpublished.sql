-- The outbox now holds only what is not published yet: rows already published go before the column that marked them.
DELETE FROM "instagram"."outbox" WHERE "published_at" IS NOT NULL;--> statement-breakpoint
DROP INDEX "instagram"."outbox_unpublished_idx";--> statement-breakpoint
ALTER TABLE "instagram"."outbox" DROP COLUMN "published_at";
