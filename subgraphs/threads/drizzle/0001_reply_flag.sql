DROP INDEX "threads"."threads_author_top_level_idx";--> statement-breakpoint
ALTER TABLE "threads"."threads" ADD COLUMN "is_reply" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX "threads_author_top_level_idx" ON "threads"."threads" USING btree ("author_id","id") WHERE not "threads"."threads"."is_reply";